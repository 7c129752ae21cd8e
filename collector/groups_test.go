package collector

import (
	"fmt"
	"maps"
	"math/rand/v2"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/go-kit/log"
	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"

	"github.com/entra-authmethods-exporter/entra-authmethods-exporter/config"
	"github.com/entra-authmethods-exporter/entra-authmethods-exporter/internal/fakegraph"
	"github.com/entra-authmethods-exporter/entra-authmethods-exporter/status"
)

// strongestOf is the built-in strength table, written out here rather than
// taken from the code under test.
func strongestOf(methods []string) string {
	has := func(ms ...string) bool {
		return slices.ContainsFunc(methods, func(m string) bool { return slices.Contains(ms, m) })
	}
	switch {
	case has("fido2", "fido2SecurityKey", "passKeyDeviceBound", "passKeyDeviceBoundAuthenticator", "passKeyDeviceBoundWindowsHello",
		"passKeySynced", "windowsHelloForBusiness", "macOsSecureEnclaveKey"):
		return "phishing_resistant"
	case has("microsoftAuthenticatorPasswordless"):
		return "passwordless"
	case has("microsoftAuthenticatorPush", "softwareOneTimePasscode", "hardwareOneTimePasscode"):
		return "app"
	case has("mobilePhone", "alternateMobilePhone", "officePhone"):
		return "phone"
	}
	return "none"
}

// series gathers every series of c as "name{label=value,...}" (labels
// sorted, tenant left out) to its value.
func series(t *testing.T, c prometheus.Collector, prefix string) map[string]float64 {
	t.Helper()
	reg := prometheus.NewPedanticRegistry()
	reg.MustRegister(c)
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]float64{}
	for _, mf := range mfs {
		if !strings.HasPrefix(mf.GetName(), prefix) {
			continue
		}
		for _, m := range mf.GetMetric() {
			var labels []string
			for _, l := range m.GetLabel() {
				if l.GetName() != "tenant" {
					labels = append(labels, l.GetName()+"="+l.GetValue())
				}
			}
			out[mf.GetName()+"{"+strings.Join(labels, ",")+"}"] = valueOf(m)
		}
	}
	return out
}

func valueOf(m *dto.Metric) float64 {
	if m.Counter != nil {
		return m.Counter.GetValue()
	}
	return m.GetGauge().GetValue()
}

// expectedGroupSeries is what Graph's data implies for each group: its user
// members (each once) and, of those in the registration details, the
// counts by user type, admin, feature and strength.
func expectedGroupSeries(d *fakegraph.Data, groups []config.Group) map[string]float64 {
	users := map[string]fakegraph.User{}
	for _, u := range d.Users {
		users[strings.ToLower(u.ID)] = u
	}
	out := map[string]float64{}
	for _, g := range groups {
		i := slices.IndexFunc(d.Groups, func(fg fakegraph.Group) bool { return strings.EqualFold(fg.ID, g.ID) })
		if i < 0 {
			continue
		}
		seen := map[string]bool{}
		kinds := map[[2]string]bool{}
		for _, m := range d.Groups[i].Members {
			id := strings.ToLower(m.ID) // Graph matches ids in any case
			if m.Type != fakegraph.MemberUser || seen[id] {
				continue
			}
			seen[id] = true
			u, ok := users[id]
			if !ok {
				continue
			}
			kind := [2]string{u.UserType, strconv.FormatBool(u.IsAdmin)}
			at := fmt.Sprintf("group=%s,user_type=%s", g.Name, kind[0])
			if !kinds[kind] {
				kinds[kind] = true
				for _, f := range features {
					out[fmt.Sprintf("entra_authmethods_group_users_registered_by_feature{admin=%s,feature=%s,%s}", kind[1], f, at)] += 0
				}
				for _, s := range config.Strengths() {
					out[fmt.Sprintf("entra_authmethods_group_users_by_strength{admin=%s,group=%s,strength=%s,user_type=%s}", kind[1], g.Name, s, kind[0])] += 0
				}
			}
			out[fmt.Sprintf("entra_authmethods_group_users{admin=%s,%s}", kind[1], at)]++
			for i, on := range []bool{u.IsMfaRegistered, u.IsMfaCapable, u.IsSsprRegistered, u.IsSsprEnabled, u.IsSsprCapable,
				u.IsPasswordlessCapable, u.IsSystemPreferredAuthenticationMethodEnabled} {
				if on {
					out[fmt.Sprintf("entra_authmethods_group_users_registered_by_feature{admin=%s,feature=%s,%s}", kind[1], features[i], at)]++
				}
			}
			out[fmt.Sprintf("entra_authmethods_group_users_by_strength{admin=%s,group=%s,strength=%s,user_type=%s}", kind[1], g.Name, strongestOf(u.MethodsRegistered), kind[0])]++
		}
		out["entra_authmethods_group_members{group="+g.Name+"}"] = float64(len(seen))
	}
	return out
}

func groupFixture(t *testing.T, data *fakegraph.Data, groups []config.Group) (*fakegraph.Server, *fakegraph.Tenant, *tenantPoller) {
	t.Helper()
	srv, err := fakegraph.NewServer(fakegraph.Options{PageSize: 50})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(srv.Close)
	fake := &fakegraph.Tenant{TenantID: testTenantID, ClientID: testClientID, ClientSecret: testSecret, Data: data}
	srv.AddTenant(fake)
	s := settings{
		tenant: config.Tenant{Name: "contoso", TenantID: testTenantID, ClientID: testClientID, Auth: config.AuthClientSecret,
			ClientSecret: testSecret, Cloud: "public", AuthorityHost: srv.AuthorityHost(), GraphEndpoint: srv.GraphEndpoint(),
			Reports: []string{config.UserRegistrationDetails}, Groups: groups},
		pollInterval: time.Minute, requestTimeout: 10 * time.Second,
		rateLimit: config.RateLimit{Requests: 100, Per: time.Second}, maxFailureReasons: 20, maxLabelValues: 100,
	}
	return srv, fake, newTestPoller(t, s, srv.Client(), log.NewNopLogger())
}

// The groups' series equal what Graph's data implies: members listed more
// than once, non-user members, members missing from the registration
// details and a deleted group included; a failing group keeps its last
// good values, alone.
func TestGroupsMatchGraphsData(t *testing.T) {
	data := fakegraph.Synthetic(3, 600, testNow)
	// A user listed twice, as a test of counting each member once, and
	// once more in upper case: the same user, as Graph matches ids.
	first := data.Groups[0].Members[0]
	upper := first
	upper.ID = strings.ToUpper(first.ID)
	data.Groups[0].Members = append(data.Groups[0].Members, first, upper)
	data.Groups[1].Members[0].ID = strings.ToUpper(data.Groups[1].Members[0].ID)
	var groups []config.Group
	for _, g := range data.Groups {
		groups = append(groups, config.Group{Name: g.Name, ID: g.ID})
	}
	deleted := config.Group{Name: "deleted", ID: "0badc0de-0000-4000-8000-000000000000"}
	groups = append(groups, deleted)
	slices.SortFunc(groups, func(a, b config.Group) int { return strings.Compare(a.Name, b.Name) })
	srv, fake, p := groupFixture(t, data, groups)
	e := exporterFor(p)

	p.pollReport(t.Context(), p.reports[0], &pollRound{})
	if st := p.reports[0].status.Load(); !st.Up {
		t.Fatal(st.LastError)
	}
	want := expectedGroupSeries(data, groups)
	for _, g := range groups {
		want["entra_authmethods_group_up{group="+g.Name+"}"] = 1
	}
	want["entra_authmethods_group_up{group=deleted}"] = 0
	want["entra_authmethods_group_errors_total{group=deleted,reason=not_found}"] = 1
	got := series(t, e, "entra_authmethods_group_")
	if !maps.Equal(got, want) {
		for k, v := range want {
			if g, ok := got[k]; !ok || g != v {
				t.Errorf("%s = %v (present %v), want %v", k, g, ok, v)
			}
		}
		for k, v := range got {
			if _, ok := want[k]; !ok {
				t.Errorf("unexpected %s = %v", k, v)
			}
		}
	}
	if len(want) < 100 {
		t.Fatalf("only %d series expected: the synthetic groups are too small to test anything", len(want))
	}
	// users_by_strength: every user once, in its strongest class.
	byStrength := map[string]float64{}
	for _, u := range data.Users {
		byStrength[fmt.Sprintf("entra_authmethods_users_by_strength{admin=%t,strength=%s,user_type=%s}", u.IsAdmin, strongestOf(u.MethodsRegistered), u.UserType)]++
	}
	gotStrength := series(t, e, "entra_authmethods_users_by_strength")
	for k, v := range gotStrength {
		if byStrength[k] != v {
			t.Errorf("%s = %v, want %v", k, v, byStrength[k])
		}
	}
	for k, v := range byStrength {
		if gotStrength[k] != v {
			t.Errorf("%s = %v, want %v", k, gotStrength[k], v)
		}
	}
	st := e.Status()[0].Groups
	if len(st) != len(groups) || st[0].Name != "admins" || !st[0].Up || st[0].Members == 0 {
		t.Errorf("status %+v", st)
	}
	if i := slices.IndexFunc(st, func(s status.Group) bool { return s.Name == "deleted" }); st[i].Up || !strings.Contains(st[i].LastError, "Request_ResourceNotFound") {
		t.Errorf("deleted group's status %+v", st[i])
	}

	// Permission withdrawn: every group fails, alone; its last good values
	// stay, the report goes on, and the users move.
	next := *fake
	changed := *data
	changed.Users = fakegraph.RegisterPasskeys(rand.New(rand.NewPCG(1, 2)), data.Users, 50, testNow)
	next.Data, next.NoGroupPermission = &changed, true
	srv.AddTenant(&next)
	p.pollReport(t.Context(), p.reports[0], &pollRound{})
	if st := p.reports[0].status.Load(); !st.Up {
		t.Fatal(st.LastError)
	}
	for _, g := range groups {
		want["entra_authmethods_group_up{group="+g.Name+"}"] = 0
		if g != deleted {
			want["entra_authmethods_group_errors_total{group="+g.Name+",reason=forbidden}"] = 1
		}
	}
	want["entra_authmethods_group_errors_total{group=deleted,reason=forbidden}"] = 1
	if got := series(t, e, "entra_authmethods_group_"); !maps.Equal(got, want) {
		t.Errorf("after a forbidden read:\n got %v\nwant %v", got, want)
	}
	if series(t, e, "entra_authmethods_users_by_strength")["entra_authmethods_users_by_strength{admin=false,strength=phishing_resistant,user_type=member}"] <=
		byStrength["entra_authmethods_users_by_strength{admin=false,strength=phishing_resistant,user_type=member}"] {
		t.Error("users_by_strength did not follow the report")
	}
}
