package config

import (
	"fmt"
	"maps"
	"slices"

	"github.com/entra-authmethods-exporter/entra-authmethods-exporter/internal/redact"
)

// The authentication strength classes, the `strength` label's values,
// strongest first. A user counts once, in the strongest class among its
// registered methods.
const (
	StrengthPhishingResistant = "phishing_resistant"
	StrengthPasswordless      = "passwordless"
	StrengthApp               = "app"
	StrengthPhone             = "phone"
	StrengthNone              = "none"
	// StrengthIgnore, in method_strengths only, takes a method out of the
	// table: it classifies nothing, as a method the table does not know.
	StrengthIgnore = "ignore"
)

// Strengths returns the classes, strongest first.
func Strengths() []string {
	return []string{StrengthPhishingResistant, StrengthPasswordless, StrengthApp, StrengthPhone, StrengthNone}
}

// builtinStrengths classes methodsRegistered values (Graph's spelling).
// Methods it does not name (email, securityQuestion, temporaryAccessPass)
// classify nothing: a user with only those is in "none".
var builtinStrengths = map[string]string{
	"fido2":                           StrengthPhishingResistant,
	"fido2SecurityKey":                StrengthPhishingResistant,
	"passKeyDeviceBound":              StrengthPhishingResistant,
	"passKeyDeviceBoundAuthenticator": StrengthPhishingResistant,
	"passKeyDeviceBoundWindowsHello":  StrengthPhishingResistant,
	"passKeySynced":                   StrengthPhishingResistant,
	"windowsHelloForBusiness":         StrengthPhishingResistant,
	"macOsSecureEnclaveKey":           StrengthPhishingResistant,

	"microsoftAuthenticatorPasswordless": StrengthPasswordless,

	"microsoftAuthenticatorPush": StrengthApp,
	"softwareOneTimePasscode":    StrengthApp,
	"hardwareOneTimePasscode":    StrengthApp,

	"mobilePhone":          StrengthPhone,
	"alternateMobilePhone": StrengthPhone,
	"officePhone":          StrengthPhone,
}

// StrengthTable is the table the tenant classes methods by: the built-in
// one with the tenant's method_strengths over it, less the methods ignored.
func (t Tenant) StrengthTable() map[string]string {
	table := maps.Clone(builtinStrengths)
	maps.Copy(table, t.MethodStrengths)
	// "none" and "ignore" both leave a user with only that method in none.
	maps.DeleteFunc(table, func(_, class string) bool { return class == StrengthIgnore || class == StrengthNone })
	return table
}

// mergeStrengths merges method_strengths layers (top level, defaults, the
// tenant), each key by key over the one before; nil when none is given.
func mergeStrengths(layers ...map[string]string) map[string]string {
	var out map[string]string
	for _, layer := range layers {
		if len(layer) > 0 && out == nil {
			out = map[string]string{}
		}
		maps.Copy(out, layer)
	}
	return out
}

// checkMethodStrengths says what, if anything, is wrong with a
// method_strengths map.
func checkMethodStrengths(m map[string]string) error {
	for _, method := range slices.Sorted(maps.Keys(m)) {
		switch class := m[method]; {
		case method == "":
			return fmt.Errorf("a method name must not be empty")
		case class == StrengthIgnore, slices.Contains(Strengths(), class):
		default:
			return fmt.Errorf("%s: %s is not a class: use phishing_resistant, passwordless, app, phone, none or ignore", redact.Value(method), redact.Value(class))
		}
	}
	return nil
}
