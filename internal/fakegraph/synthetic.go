package fakegraph

import (
	"cmp"
	"math/rand/v2"
	"slices"
	"strconv"
	"strings"
	"time"
)

// Synthetic builds a plausible tenant of the given size: about 10% guests and
// 3% admins, a realistic spread of registered methods (some users with none),
// about users/2 registration and reset events over the 30 days before now
// (about 15% failed, a few exact duplicates and a few older than 30 days, as
// Graph returns them), one MFA sign-in and one password-reset row per day for
// the last 30 days, and legacy reports derived from the same users and events.
// About 4% of the members have a synced passkey (and 1% each a Mac's Secure
// Enclave key or a passkey in Microsoft Authenticator). The tenant has the
// groups SyntheticGroups describes. The result depends only on the arguments.
func Synthetic(seed int64, users int, now time.Time) *Data {
	g := &synth{
		rng: rand.New(rand.NewPCG(uint64(seed), 0x6a09e667f3bcc909)),
		now: now.UTC().Truncate(time.Second),
	}
	d := &Data{Users: g.users(max(users, 0))}
	d.TotalUserCount = int64(len(d.Users))
	d.Events = g.events(d.Users)
	d.UsageSummaries = usageSummaries(d.Events, g.now)
	d.CredentialUsage = g.credentialUsage(d.Events)
	d.MFASignIns = g.mfaSignIns(len(d.Users))
	d.PasswordResets = g.passwordResets(len(d.Users))
	// Drawn after everything else, each from its own stream, so that
	// they leave the data above as it was before they were added.
	passkeys(rand.New(rand.NewPCG(uint64(seed), passkeyStream)), d.Users)
	d.Groups = syntheticGroups(rand.New(rand.NewPCG(uint64(seed), groupStream)), d.Users)
	d.CredentialDetails = credentialDetails(d.Users)
	d.RegistrationCounts = registrationCounts(d.CredentialDetails)
	return d
}

// The streams of Synthetic's later additions, apart from the main one.
const (
	passkeyStream = 0xbb67ae8584caa73b
	groupStream   = 0x3c6ef372fe94f82b
)

// passkeys gives about 4% of the members a synced passkey, and 1% each a
// macOS Secure Enclave key and a device-bound passkey in Microsoft
// Authenticator, in place. It draws three numbers per user.
func passkeys(rng *rand.Rand, users []User) {
	for i := range users {
		u := &users[i]
		for _, k := range []struct {
			method string
			p      float64
		}{{"passKeySynced", 0.04}, {"macOsSecureEnclaveKey", 0.01}, {"passKeyDeviceBoundAuthenticator", 0.01}} {
			if rng.Float64() < k.p && u.UserType == "member" {
				addPasskey(u, k.method)
			}
		}
	}
}

// addPasskey registers the passwordless method m for u, in methodOrder's
// place, and sets the flags it implies. u.MethodsRegistered is replaced,
// not changed in place.
func addPasskey(u *User, m string) {
	if slices.Contains(u.MethodsRegistered, m) {
		return
	}
	rank := func(x string) int { return slices.Index(methodOrder, x) }
	at := len(u.MethodsRegistered)
	for i, x := range u.MethodsRegistered {
		if rank(x) > rank(m) {
			at = i
			break
		}
	}
	u.MethodsRegistered = slices.Insert(slices.Clone(u.MethodsRegistered), at, m)
	u.IsMfaRegistered, u.IsMfaCapable, u.IsPasswordlessCapable = true, true, true
}

type synth struct {
	rng *rand.Rand
	now time.Time
}

func (g *synth) chance(p float64) bool { return g.rng.Float64() < p }

func (g *synth) uuid() string {
	var b [16]byte
	for i := range 2 {
		v := g.rng.Uint64()
		for j := range 8 {
			b[i*8+j] = byte(v >> (8 * j))
		}
	}
	return formatUUID(b)
}

func pick[T any](g *synth, s []T) T { return s[g.rng.IntN(len(s))] }

const day = 24 * time.Hour

var (
	firstNames = []string{"Adele", "Alex", "Allan", "Bianca", "Brian", "Carla", "Chen", "Diego", "Emily", "Enrico", "Fatima", "Grady", "Hana", "Henrietta", "Irvin", "Isaiah", "Johanna", "Joni", "Kenji", "Lee", "Lidia", "Lynne", "Megan", "Miriam", "Nestor", "Nora", "Omar", "Patti", "Pradeep", "Priya", "Quinn", "Raul", "Sofia", "Tomas", "Uma", "Wei", "Yusuf", "Zoe"}
	lastNames  = []string{"Vance", "Wilber", "Deyoung", "Pisani", "Johnson", "Silva", "Wang", "Siciliani", "Braun", "Gonzales", "Khan", "Archie", "Sato", "Harris", "Bellows", "Morgan", "Miller", "Sherman", "Tanaka", "Gu", "Holloway", "Robbins", "Bowen", "Graham", "Wilke", "Novak", "Haddad", "Fernandez", "Gupta", "Iyer", "Okafor", "Rossi", "Kowalski", "Nguyen", "Larsen", "Schmidt", "Yilmaz", "Dubois"}
	guestOrgs  = []string{"fabrikam.com", "northwindtraders.com", "tailspintoys.com", "gmail.com", "outlook.com"}

	// methodOrder is the order methodsRegistered lists methods in.
	methodOrder = []string{"mobilePhone", "alternateMobilePhone", "officePhone", "email", "securityQuestion",
		"microsoftAuthenticatorPush", "microsoftAuthenticatorPasswordless", "softwareOneTimePasscode",
		"hardwareOneTimePasscode", "fido2", "passKeyDeviceBound", "passKeyDeviceBoundAuthenticator", "passKeySynced",
		"windowsHelloForBusiness", "macOsSecureEnclaveKey", "temporaryAccessPass"}

	mfaMethods = set("mobilePhone", "alternateMobilePhone", "officePhone", "microsoftAuthenticatorPush", "microsoftAuthenticatorPasswordless", "softwareOneTimePasscode", "hardwareOneTimePasscode", "fido2", "passKeyDeviceBound",
		"passKeyDeviceBoundAuthenticator", "passKeySynced", "windowsHelloForBusiness", "macOsSecureEnclaveKey")
	ssprMethods         = set("mobilePhone", "alternateMobilePhone", "officePhone", "email", "securityQuestion", "microsoftAuthenticatorPush", "softwareOneTimePasscode", "hardwareOneTimePasscode")
	passwordlessMethods = set("microsoftAuthenticatorPasswordless", "fido2", "passKeyDeviceBound", "passKeyDeviceBoundAuthenticator", "passKeySynced", "windowsHelloForBusiness", "macOsSecureEnclaveKey")

	failureReasons = []string{
		"The user didn't complete the verification.",
		"The verification code entered was incorrect.",
		"The user canceled the operation.",
		"A system error has occurred.",
		"The text message could not be delivered.",
		"The phone call was not answered.",
		"The authentication method is not allowed by policy.",
	}
)

func set(xs ...string) map[string]bool {
	m := make(map[string]bool, len(xs))
	for _, x := range xs {
		m[x] = true
	}
	return m
}

func hasAny(methods []string, in map[string]bool) bool {
	return slices.ContainsFunc(methods, func(m string) bool { return in[m] })
}

func (g *synth) users(n int) []User {
	out := make([]User, 0, n)
	used := map[string]int{}
	for range n {
		first, last := pick(g, firstNames), pick(g, lastNames)
		local := strings.ToLower(first + "." + last)
		used[local]++
		if c := used[local]; c > 1 {
			local += strconv.Itoa(c)
		}
		u := User{ID: g.uuid(), DisplayName: first + " " + last, UserType: "member"}
		if g.chance(0.10) {
			u.UserType = "guest"
			u.UPN = local + "_" + pick(g, guestOrgs) + "#EXT#@contoso.onmicrosoft.com"
		} else {
			u.UPN = local + "@contoso.com"
			u.IsAdmin = g.chance(0.033)
		}
		u.MethodsRegistered = g.methods(u)
		g.flags(&u)
		u.LastUpdatedDateTime = g.now.Add(-time.Duration(g.rng.Int64N(int64(90*day/time.Second))) * time.Second)
		out = append(out, u)
	}
	return out
}

// methods draws a user's registered methods. Each probability is that of
// one method, independent of the others.
func (g *synth) methods(u User) []string {
	var p map[string]float64
	switch {
	case u.UserType == "guest":
		if g.chance(0.45) {
			return []string{}
		}
		p = map[string]float64{"microsoftAuthenticatorPush": 0.4, "mobilePhone": 0.4, "email": 0.5, "softwareOneTimePasscode": 0.1}
	case u.IsAdmin:
		p = map[string]float64{"microsoftAuthenticatorPush": 1, "softwareOneTimePasscode": 0.5, "mobilePhone": 0.4, "email": 0.3,
			"fido2": 0.3, "passKeyDeviceBound": 0.3, "windowsHelloForBusiness": 0.5, "microsoftAuthenticatorPasswordless": 0.2, "temporaryAccessPass": 0.05}
	default:
		if g.chance(0.08) {
			return []string{}
		}
		p = map[string]float64{"microsoftAuthenticatorPush": 0.72, "softwareOneTimePasscode": 0.35, "mobilePhone": 0.5, "email": 0.3,
			"windowsHelloForBusiness": 0.25, "microsoftAuthenticatorPasswordless": 0.1, "passKeyDeviceBound": 0.08, "fido2": 0.04,
			"officePhone": 0.05, "alternateMobilePhone": 0.03, "securityQuestion": 0.03, "temporaryAccessPass": 0.02, "hardwareOneTimePasscode": 0.01}
	}
	out := []string{}
	for _, m := range methodOrder { // fixed order: map iteration would break determinism
		if p[m] > 0 && g.chance(p[m]) {
			out = append(out, m)
		}
	}
	return out
}

// flags sets the registration flags mostly consistently with the methods:
// capable implies registered, with a few users whose policy disagrees.
func (g *synth) flags(u *User) {
	m := u.MethodsRegistered
	u.IsMfaRegistered = hasAny(m, mfaMethods)
	u.IsMfaCapable = u.IsMfaRegistered && g.chance(0.95)
	u.IsPasswordlessCapable = hasAny(m, passwordlessMethods) && g.chance(0.97)
	u.IsSsprEnabled = u.IsAdmin || (u.UserType == "member" && g.chance(0.85)) || (u.UserType == "guest" && g.chance(0.1))
	u.IsSsprRegistered = hasAny(m, ssprMethods) && g.chance(0.9)
	u.IsSsprCapable = u.IsSsprEnabled && u.IsSsprRegistered
	u.IsSystemPreferredAuthenticationMethodEnabled = g.chance(0.85)

	has := func(xs ...string) bool {
		return slices.ContainsFunc(xs, func(x string) bool { return slices.Contains(m, x) })
	}
	var candidates []string // userDefaultAuthenticationMethod values, strongest first
	if has("microsoftAuthenticatorPush", "microsoftAuthenticatorPasswordless") {
		candidates = append(candidates, "push")
	}
	if has("softwareOneTimePasscode", "hardwareOneTimePasscode") {
		candidates = append(candidates, "oath")
	}
	if has("mobilePhone") {
		candidates = append(candidates, "sms", "voiceMobile")
	}
	if has("officePhone") {
		candidates = append(candidates, "voiceOffice")
	}
	if has("alternateMobilePhone") {
		candidates = append(candidates, "voiceAlternateMobile")
	}
	u.SystemPreferredAuthenticationMethods = []string{}
	if u.IsSystemPreferredAuthenticationMethodEnabled && len(candidates) > 0 {
		u.SystemPreferredAuthenticationMethods = []string{candidates[0]}
	}
	switch {
	case len(candidates) == 0 || g.chance(0.08):
		u.UserPreferredMethodForSecondaryAuthentication = ""
	case g.chance(0.6):
		u.UserPreferredMethodForSecondaryAuthentication = candidates[0]
	default:
		u.UserPreferredMethodForSecondaryAuthentication = pick(g, candidates)
	}
}

// usageName maps a methodsRegistered value to its usageAuthMethod name.
func usageName(m string) string {
	if m == "fido2" {
		return "fido2SecurityKey"
	}
	return m
}

var (
	registrationPool = []string{"microsoftAuthenticatorPush", "mobilePhone", "email", "softwareOneTimePasscode", "passKeyDeviceBound", "windowsHelloForBusiness", "fido2SecurityKey"}
	resetPool        = []string{"email", "mobilePhone", "sms", "microsoftAuthenticatorPush", "softwareOneTimePasscode", "securityQuestion", "officePhone"}
)

// event is one registration (60%) or reset by u, 15% of them failed.
func (g *synth) event(u User) Event {
	e := Event{ID: u.ID, UPN: u.UPN, DisplayName: u.DisplayName, IsSuccess: !g.chance(0.15)}
	e.EventDateTime = g.now.Add(-g.eventAge(0, 30))
	if g.chance(0.6) {
		e.Feature = "registration"
		e.AuthMethod = pick(g, registrationPool)
		if len(u.MethodsRegistered) > 0 && g.chance(0.8) {
			e.AuthMethod = usageName(pick(g, u.MethodsRegistered))
		}
	} else {
		e.Feature = "reset"
		e.AuthMethod = g.resetMethod(u)
	}
	if !e.IsSuccess && g.chance(0.88) {
		e.FailureReason = pick(g, failureReasons)
	}
	return e
}

// resetMethod is the method of a reset by u: mostly one u registered for
// SSPR, a mobile phone often by text message.
func (g *synth) resetMethod(u User) string {
	method := pick(g, resetPool)
	var own []string
	for _, m := range u.MethodsRegistered {
		if ssprMethods[m] {
			own = append(own, m)
		}
	}
	if len(own) > 0 && g.chance(0.8) {
		method = pick(g, own)
	}
	if method == "mobilePhone" && g.chance(0.5) {
		method = "sms"
	}
	return method
}

func (g *synth) events(users []User) []Event {
	n := len(users) / 2
	if n == 0 {
		return []Event{}
	}
	out := make([]Event, 0, n+n/30+2)
	for range n {
		out = append(out, g.event(pick(g, users)))
	}
	// A newer enum member is always present, so the Prefer header matters.
	if !slices.ContainsFunc(out, func(e Event) bool { return e.AuthMethod == "passKeyDeviceBound" }) {
		out[0].Feature, out[0].AuthMethod = "registration", "passKeyDeviceBound"
	}
	// A few rows older than the 30-day window.
	for i := range max(len(out)/50, min(len(out)/10, 1)) {
		out[(i*7)%len(out)].EventDateTime = g.now.Add(-g.eventAge(30, 35))
	}
	slices.SortStableFunc(out, func(a, b Event) int { return b.EventDateTime.Compare(a.EventDateTime) })
	// A few exact duplicates at random places: Graph can return an event twice.
	for range max(len(out)/60, min(len(out)/10, 1)) {
		dup := pick(g, out)
		i := g.rng.IntN(len(out) + 1)
		out = slices.Insert(out, i, dup)
	}
	return out
}

func credentialDetails(users []User) []CredentialDetail {
	legacy := map[string]string{
		"mobilePhone": "mobilePhone", "alternateMobilePhone": "alternateMobilePhone", "officePhone": "officePhone",
		"email": "email", "securityQuestion": "securityQuestion",
		"microsoftAuthenticatorPush": "appNotification", "microsoftAuthenticatorPasswordless": "appNotification",
		"softwareOneTimePasscode": "appCode", "hardwareOneTimePasscode": "appCode",
		"fido2": "fido", "passKeyDeviceBound": "fido", "passKeyDeviceBoundAuthenticator": "fido", "passKeySynced": "fido",
	}
	order := []string{"email", "mobilePhone", "officePhone", "securityQuestion", "appNotification", "appCode", "alternateMobilePhone", "fido"}
	out := make([]CredentialDetail, 0, len(users))
	for _, u := range users {
		have := map[string]bool{}
		for _, m := range u.MethodsRegistered {
			have[legacy[m]] = true
		}
		methods := []string{}
		for _, m := range order {
			if have[m] {
				methods = append(methods, m)
			}
		}
		out = append(out, CredentialDetail{
			ID: u.ID, UPN: u.UPN, DisplayName: u.DisplayName, AuthMethods: methods,
			IsRegistered: u.IsSsprRegistered, IsEnabled: u.IsSsprEnabled,
			IsCapable: u.IsSsprCapable || u.IsMfaCapable, IsMfaRegistered: u.IsMfaRegistered,
		})
	}
	return out
}

func registrationCounts(details []CredentialDetail) []RegistrationCount {
	var reg, en, capable, mfa int64
	for _, c := range details {
		reg += b2i(c.IsRegistered)
		en += b2i(c.IsEnabled)
		capable += b2i(c.IsCapable)
		mfa += b2i(c.IsMfaRegistered)
	}
	return []RegistrationCount{{"registered", reg}, {"enabled", en}, {"capable", capable}, {"mfaRegistered", mfa}}
}

func b2i(b bool) int64 {
	if b {
		return 1
	}
	return 0
}

// eventAge is a random age between fromDays and toDays that stays at least
// 15 minutes away from a whole number of days, and from 1 and 6 hours, so
// which window (h1, h6, d1, d7, d30) an event falls in does not change
// while a test or the demo polls it.
func (g *synth) eventAge(fromDays, toDays int) time.Duration {
	margin := 15 * time.Minute
	for {
		d := fromDays + g.rng.IntN(toDays-fromDays)
		within := time.Duration(g.rng.Int64N(int64((day-2*margin)/time.Second))) * time.Second
		age := time.Duration(d)*day + margin + within
		if (age-time.Hour).Abs() >= margin && (age-6*time.Hour).Abs() >= margin {
			return age
		}
	}
}

// usageSummaries counts each distinct event once per period it falls in.
func usageSummaries(events []Event, now time.Time) map[string][]UsageSummary {
	out := map[string][]UsageSummary{}
	for _, period := range []struct {
		name string
		days int
	}{{"D1", 1}, {"D7", 7}, {"D30", 30}} {
		cut := now.Add(-time.Duration(period.days) * day)
		seen := map[Event]bool{}
		sums := map[[2]string]*UsageSummary{}
		for _, e := range events {
			if seen[e] || !e.EventDateTime.After(cut) {
				continue
			}
			seen[e] = true
			k := [2]string{e.Feature, e.AuthMethod}
			if sums[k] == nil {
				sums[k] = &UsageSummary{Feature: e.Feature, AuthMethod: e.AuthMethod}
			}
			if e.IsSuccess {
				sums[k].Successful++
			} else {
				sums[k].Failed++
			}
		}
		rows := []UsageSummary{}
		for _, s := range sums {
			rows = append(rows, *s)
		}
		slices.SortFunc(rows, func(a, b UsageSummary) int {
			return cmp.Or(cmp.Compare(a.Feature, b.Feature), cmp.Compare(a.AuthMethod, b.AuthMethod))
		})
		out[period.name] = rows
	}
	return out
}

// credentialUsage copies most distinct events into the legacy report, with
// the legacy usageAuthMethod names where one exists.
func (g *synth) credentialUsage(events []Event) []CredentialUsageEvent {
	legacy := map[string]string{
		"microsoftAuthenticatorPush": "appNotification", "microsoftAuthenticatorPasswordless": "appNotification",
		"softwareOneTimePasscode": "appCode", "hardwareOneTimePasscode": "appCode",
		"mobilePhone": "mobileSMS", "sms": "mobileSMS", "alternateMobilePhone": "alternateMobileCall",
		"fido2SecurityKey": "fido", "passKeyDeviceBound": "fido",
	}
	seen := map[Event]bool{}
	out := []CredentialUsageEvent{}
	for _, e := range events {
		if seen[e] {
			continue
		}
		seen[e] = true
		if !g.chance(0.8) {
			continue
		}
		m := e.AuthMethod
		if l, ok := legacy[m]; ok {
			m = l
		}
		out = append(out, CredentialUsageEvent{ID: g.uuid(), Feature: e.Feature, UPN: e.UPN, DisplayName: e.DisplayName,
			AuthMethod: m, FailureReason: e.FailureReason, IsSuccess: e.IsSuccess, EventDateTime: e.EventDateTime})
	}
	return out
}

// midnight is the start of t's UTC day.
func midnight(t time.Time) time.Time {
	y, m, d := t.Date()
	return time.Date(y, m, d, 0, 0, 0, 0, time.UTC)
}

// weekdayFactor makes weekends quieter, as real sign-in curves are.
func weekdayFactor(t time.Time) float64 {
	if t.Weekday() == time.Saturday || t.Weekday() == time.Sunday {
		return 0.35
	}
	return 1
}

// mfaSignIns is one row per day for the 30 days before today, newest
// (yesterday) first.
func (g *synth) mfaSignIns(users int) []MFASignInDay {
	out := make([]MFASignInDay, 0, 30)
	for i := 1; i <= 30; i++ {
		t := midnight(g.now).Add(-time.Duration(i) * day)
		total := int64(float64(users) * (2 + 2*g.rng.Float64()) * weekdayFactor(t))
		multi := int64(float64(total) * (0.55 + 0.35*g.rng.Float64()))
		out = append(out, MFASignInDay{ID: g.uuid(), CreatedDateTime: t, TotalSignIns: total, SingleFactorSignIns: total - multi, MultiFactorSignIns: multi})
	}
	return out
}

// passwordResets is one row per day for the 30 days before today, newest first.
func (g *synth) passwordResets(users int) []PasswordResetDay {
	around := func(mean float64) int64 { return int64(mean * (0.5 + g.rng.Float64())) }
	out := make([]PasswordResetDay, 0, 30)
	for i := 1; i <= 30; i++ {
		t := midnight(g.now).Add(-time.Duration(i) * day)
		f := float64(users) * weekdayFactor(t)
		out = append(out, PasswordResetDay{ID: g.uuid(), AggregatedDateTime: t,
			PasswordResetsByAdminCount: around(f / 250), PasswordResetsSelfServiceCount: around(f / 120), ChangePasswordSelfServiceCount: around(f / 60)})
	}
	return out
}
