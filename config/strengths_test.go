package config

import (
	"fmt"
	"maps"
	"reflect"
	"strings"
	"testing"
)

func TestMethodStrengthsMerge(t *testing.T) {
	c, err := Parse([]byte(`method_strengths: {email: app, smsSignIn: phone}
defaults:
  method_strengths: {email: phone, temporaryAccessPass: passwordless}
tenants:
  - {name: a, method_strengths: {mobilePhone: ignore, temporaryAccessPass: none}}
  - {name: b}
`), "inline")
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]string{"email": "phone", "smsSignIn": "phone", "temporaryAccessPass": "none", "mobilePhone": "ignore"}
	if got := c.Tenants[0].MethodStrengths; !reflect.DeepEqual(got, want) {
		t.Errorf("a: merged %v, want %v", got, want)
	}
	table := c.Tenants[0].StrengthTable()
	for method, class := range map[string]string{"email": "phone", "smsSignIn": "phone", "fido2": "phishing_resistant", "passKeySynced": "phishing_resistant",
		"microsoftAuthenticatorPasswordless": "passwordless", "softwareOneTimePasscode": "app", "officePhone": "phone"} {
		if table[method] != class {
			t.Errorf("a: %s is %q, want %q", method, table[method], class)
		}
	}
	for _, gone := range []string{"mobilePhone", "temporaryAccessPass", "securityQuestion"} {
		if _, ok := table[gone]; ok {
			t.Errorf("a: %s classes as %q, want nothing", gone, table[gone])
		}
	}
	if got, want := c.Tenants[1].StrengthTable()["temporaryAccessPass"], "passwordless"; got != want {
		t.Errorf("b: temporaryAccessPass is %q, want %q from the defaults", got, want)
	}
	if got := (Tenant{}).StrengthTable(); !maps.Equal(got, builtinStrengths) {
		t.Errorf("without method_strengths: %v, want the built-in table", got)
	}
	if c.Tenants[1].Groups != nil {
		t.Errorf("b: groups %v, want none", c.Tenants[1].Groups)
	}
}

func TestGroups(t *testing.T) {
	c, err := Parse([]byte(`tenants:
  - name: a
    groups: {pilot: 82326005-2977-4CB0-AF33-E268F390B084, finance: b6cb2829-7d6e-4621-aae5-c15efaf88d39}
`), "inline")
	if err != nil {
		t.Fatal(err)
	}
	want := []Group{{"finance", "b6cb2829-7d6e-4621-aae5-c15efaf88d39"}, {"pilot", "82326005-2977-4CB0-AF33-E268F390B084"}}
	if got := c.Tenants[0].Groups; !reflect.DeepEqual(got, want) {
		t.Errorf("groups %v, want %v", got, want)
	}
	var many strings.Builder
	for i := range MaxGroups + 1 {
		fmt.Fprintf(&many, "g%d: 00000000-0000-4000-8000-%012d, ", i, i)
	}
	bad := map[string]string{
		"{a b: 82326005-2977-4cb0-af33-e268f390b084}": `inline: tenants[0] (a): groups: "a b": a group name may only contain letters, digits, '_', '.' and '-'`,
		"{pilot: finance}":                            `inline: tenants[0] (a): groups: pilot: "finance" is not a group object id (a GUID such as`,
		"{pilot: 82326005-2977-4cb0-af33-e268f390b084, x: 82326005-2977-4CB0-af33-e268f390b084}": `groups: x: the group 82326005-2977-4CB0-af33-e268f390b084 is already listed as pilot`,
		"{" + strings.TrimSuffix(many.String(), ", ") + "}":                                      `inline: tenants[0] (a): groups: 51 groups; at most 50 are allowed`,
		"[pilot]": "inline: line 1: expected a mapping of group names to object ids, got a list",
	}
	for groups, want := range bad {
		_, err := Parse([]byte("tenants: [{name: a, groups: "+groups+"}]"), "inline")
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("groups %.60s: got %v, want %q", groups, err, want)
		}
	}
	_, err = Parse([]byte("tenants: [{name: a, reports: [user_events_summary], groups: {pilot: 82326005-2977-4cb0-af33-e268f390b084}}]"), "inline")
	if want := "inline: tenants[0] (a): groups: read with every poll of user_registration_details, which reports leaves out: add it, or remove groups"; err == nil || err.Error() != want {
		t.Errorf("groups without the report: got %v, want %q", err, want)
	}
	_, err = Parse([]byte("defaults: {groups: {pilot: 82326005-2977-4cb0-af33-e268f390b084}}\ntenants: [{name: a}]"), "inline")
	if want := `unknown key "groups" in defaults`; err == nil || !strings.Contains(err.Error(), want) {
		t.Errorf("groups in defaults: got %v, want %q", err, want)
	}
}

func TestMethodStrengthsBad(t *testing.T) {
	bad := map[string]string{
		"method_strengths: {fido2: strong}\ntenants: [{name: a}]":               `inline: method_strengths: "fido2": "strong" is not a class: use phishing_resistant, passwordless, app, phone, none or ignore`,
		"tenants: [{name: a, method_strengths: {'': app}}]":                     `inline: tenants[0] (a): method_strengths: a method name must not be empty`,
		"defaults: {method_strengths: {x: y}}\ntenants: [{name: a}, {name: b}]": `inline: line 1: defaults: method_strengths: "x": "y" is not a class`,
		"tenants: [{name: a, method_strengths: [fido2]}]":                       "inline: line 1: expected a mapping of method names to strengths, got a list",
		"tenants: [{name: a, method_strengths: {fido2: ~" + secret + "}}]":      `(13 characters, not shown whole in case it is a secret)`,
	}
	for file, want := range bad {
		_, err := Parse([]byte(file), "inline")
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%s: got %v, want %q", file, err, want)
		}
	}
	// The defaults' problem is reported once, not again for each tenant.
	_, err := Parse([]byte("defaults: {method_strengths: {x: y}}\ntenants: [{name: a}, {name: b}]"), "inline")
	if n := strings.Count(fmt.Sprint(err), "is not a class"); n != 1 {
		t.Errorf("defaults' bad class reported %d times: %v", n, err)
	}
}
