package fakegraph

import (
	"encoding/base64"
	"net/http"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"time"
)

// graphCtx is one authenticated, admitted Graph request for a licensed tenant.
type graphCtx struct {
	s     *Server
	w     http.ResponseWriter
	r     *http.Request
	t     *Tenant
	d     *Data
	enums bool // Prefer: include-unknown-enum-members
}

var usageSummaryPath = regexp.MustCompile(`(?i)^/beta/reports/getcredentialusagesummary(?:\(\)|\(period=(?:'([^']*)'|"([^"]*)")\))?$`)

// groupMembersPath is /v1.0/groups/{id}/transitiveMembers, with or without
// the microsoft.graph.user cast.
var groupMembersPath = regexp.MustCompile(`(?i)^/v1\.0/groups/([^/]+)/transitivemembers(/microsoft\.graph\.user)?$`)

// route finds the handler for a Graph path, and whether it is a directory
// read (group members) rather than a report. Graph paths are
// case-insensitive.
func (s *Server) route(path string) (serve func(*graphCtx), directory bool) {
	if m := groupMembersPath.FindStringSubmatch(path); m != nil {
		id, usersOnly := m[1], m[2] != ""
		return func(g *graphCtx) { g.groupMembers(id, usersOnly) }, true
	}
	return s.reportRoute(path), false
}

// reportRoute finds the handler for a report's path.
func (s *Server) reportRoute(path string) func(*graphCtx) {
	p := strings.ToLower(path)
	switch p {
	case "/beta/reports/getcredentialuserregistrationcount", "/beta/reports/getcredentialuserregistrationcount()":
		return (*graphCtx).registrationCount
	case "/beta/reports/credentialuserregistrationdetails":
		return (*graphCtx).credentialDetails
	case "/beta/reports/usercredentialusagedetails":
		return (*graphCtx).credentialUsage
	case "/v1.0/reports/authenticationmethods/userregistrationdetails":
		return func(g *graphCtx) { g.userRegistrationDetails(false) }
	case "/beta/reports/authenticationmethods/userregistrationdetails":
		return func(g *graphCtx) { g.userRegistrationDetails(true) }
	case "/beta/reports/authenticationmethods/usereventssummary":
		return (*graphCtx).events
	case "/beta/reports/authenticationmethods/usermfasigninsummary":
		return (*graphCtx).mfaSignIns
	case "/beta/reports/authenticationmethods/userpasswordresetsandchangessummary":
		return (*graphCtx).passwordResets
	}
	if m := usageSummaryPath.FindStringSubmatch(path); m != nil {
		period := m[1] + m[2]
		return func(g *graphCtx) { g.usageSummary(period) }
	}
	return nil
}

// legacyUsageAuthMethods are the usageAuthMethod members up to
// unknownFutureValue; Graph hides the later ones from clients that do not
// send Prefer: include-unknown-enum-members.
var legacyUsageAuthMethods = map[string]bool{
	"email": true, "mobileSMS": true, "mobileCall": true, "officePhone": true, "securityQuestion": true,
	"appNotification": true, "appCode": true, "alternateMobileCall": true, "fido": true, "appPassword": true,
	"unknownFutureValue": true,
}

func (g *graphCtx) authMethod(m string) string {
	if g.enums || legacyUsageAuthMethods[m] {
		return m
	}
	return "unknownFutureValue"
}

func (g *graphCtx) fail(status int, code, message string) {
	g.s.graphError(g.w, g.r, status, code, message, nil)
}

// collection is an OData collection response.
type collection struct {
	Context  string `json:"@odata.context,omitempty"`
	NextLink string `json:"@odata.nextLink,omitempty"`
	Value    any    `json:"value"`
}

func (g *graphCtx) ok(v collection) {
	g.w.Header().Set("Content-Type", odataJSON)
	g.w.Header().Set("OData-Version", "4.0")
	writeJSON(g.w, http.StatusOK, v)
}

// context builds an @odata.context URL on this server.
func (g *graphCtx) context(suffix string) string { return g.s.GraphEndpoint() + suffix }

func (g *graphCtx) registrationCount() {
	type count struct {
		Status string `json:"registrationStatus"`
		Count  int64  `json:"registrationCount"`
	}
	type typoCount struct {
		Status string `json:"userRegistrationStatus"`
		Count  int64  `json:"userRegistationCount"` // sic, as in the docs' example
	}
	counts := make([]any, 0, len(g.d.RegistrationCounts))
	for _, c := range g.d.RegistrationCounts {
		if g.t.TypoKeys {
			counts = append(counts, typoCount(c))
		} else {
			counts = append(counts, count(c))
		}
	}
	g.ok(collection{
		Context: g.context("/beta/reports/$metadata#Collection(microsoft.graph.credentialUserRegistrationCount)"),
		Value: []any{struct {
			ID     string `json:"id"`
			Total  int64  `json:"totalUserCount"`
			Counts []any  `json:"userRegistrationCounts"`
		}{stableUUID(g.t.TenantID, "credentialUserRegistrationCount"), g.d.TotalUserCount, counts}},
	})
}

func (g *graphCtx) usageSummary(period string) {
	p := strings.ToUpper(period)
	switch p {
	case "D1", "D7", "D30":
	case "":
		g.fail(http.StatusBadRequest, "BadRequest", "The function 'getCredentialUsageSummary' requires the parameter 'period'.")
		return
	default:
		g.fail(http.StatusBadRequest, "BadRequest", "Invalid period '"+period+"'. Supported periods are D1, D7 and D30.")
		return
	}
	type row struct {
		ID         string `json:"id"`
		Feature    string `json:"feature"`
		Successful int64  `json:"successfulActivityCount"`
		Failed     int64  `json:"failureActivityCount"`
		AuthMethod string `json:"authMethod"`
	}
	rows := make([]row, 0, len(g.d.UsageSummaries[p]))
	for _, u := range g.d.UsageSummaries[p] {
		rows = append(rows, row{stableUUID(g.t.TenantID, p, u.Feature, u.AuthMethod), u.Feature, u.Successful, u.Failed, g.authMethod(u.AuthMethod)})
	}
	g.ok(collection{Context: g.context("/beta/reports/$metadata#Collection(microsoft.graph.credentialUsageSummary)"), Value: rows})
}

func (g *graphCtx) credentialDetails() {
	type row struct {
		ID              string   `json:"id"`
		UPN             string   `json:"userPrincipalName"`
		DisplayName     string   `json:"userDisplayName"`
		AuthMethods     []string `json:"authMethods"`
		IsRegistered    bool     `json:"isRegistered"`
		IsEnabled       bool     `json:"isEnabled"`
		IsCapable       bool     `json:"isCapable"`
		IsMfaRegistered bool     `json:"isMfaRegistered"`
	}
	page(g, g.d.CredentialDetails, 0, "/beta/$metadata#reports/credentialUserRegistrationDetails", func(c CredentialDetail) any {
		return row{c.ID, c.UPN, c.DisplayName, nonNil(c.AuthMethods), c.IsRegistered, c.IsEnabled, c.IsCapable, c.IsMfaRegistered}
	})
}

// eventRow is the shape of userCredentialUsageDetails and userEventsSummary.
type eventRow struct {
	Type          string `json:"@odata.type,omitempty"`
	ID            string `json:"id"`
	Feature       string `json:"feature"`
	UPN           string `json:"userPrincipalName"`
	DisplayName   string `json:"userDisplayName"`
	IsSuccess     bool   `json:"isSuccess"`
	AuthMethod    string `json:"authMethod"`
	FailureReason string `json:"failureReason"`
	EventDateTime string `json:"eventDateTime"`
}

func (g *graphCtx) credentialUsage() {
	page(g, g.d.CredentialUsage, 0, "/beta/$metadata#reports/userCredentialUsageDetails", func(e CredentialUsageEvent) any {
		return eventRow{"", e.ID, e.Feature, e.UPN, e.DisplayName, e.IsSuccess, g.authMethod(e.AuthMethod), e.FailureReason, isoTime(e.EventDateTime)}
	})
}

func (g *graphCtx) events() {
	page(g, g.d.Events, 1000, "/beta/$metadata#reports/authenticationMethods/userEventsSummary", func(e Event) any {
		return eventRow{"#microsoft.graph.userEventsSummary", e.ID, e.Feature, e.UPN, e.DisplayName, e.IsSuccess, g.authMethod(e.AuthMethod), e.FailureReason, isoTime(e.EventDateTime)}
	})
}

func (g *graphCtx) userRegistrationDetails(beta bool) {
	type row struct {
		Type                      string   `json:"@odata.type"`
		ID                        string   `json:"id"`
		UPN                       string   `json:"userPrincipalName"`
		DisplayName               string   `json:"userDisplayName"`
		IsAdmin                   bool     `json:"isAdmin"`
		IsSsprRegistered          bool     `json:"isSsprRegistered"`
		IsSsprEnabled             bool     `json:"isSsprEnabled"`
		IsSsprCapable             bool     `json:"isSsprCapable"`
		IsMfaRegistered           bool     `json:"isMfaRegistered"`
		IsMfaCapable              bool     `json:"isMfaCapable"`
		IsPasswordlessCapable     bool     `json:"isPasswordlessCapable"`
		LastUpdatedDateTime       string   `json:"lastUpdatedDateTime"`
		MethodsRegistered         []string `json:"methodsRegistered"`
		DefaultMfaMethod          *string  `json:"defaultMfaMethod,omitempty"` // beta only
		IsSystemPreferredEnabled  bool     `json:"isSystemPreferredAuthenticationMethodEnabled"`
		SystemPreferredMethods    []string `json:"systemPreferredAuthenticationMethods"`
		UserPreferredMethodFor2FA string   `json:"userPreferredMethodForSecondaryAuthentication"`
		UserType                  string   `json:"userType"`
	}
	version := "/v1.0"
	if beta {
		version = "/beta"
	}
	page(g, g.d.Users, 0, version+"/$metadata#reports/authenticationMethods/userRegistrationDetails", func(u User) any {
		var def *string
		if beta {
			d := defaultMfaMethod[u.UserPreferredMethodForSecondaryAuthentication]
			def = &d
		}
		return row{
			"#microsoft.graph.userRegistrationDetails", u.ID, u.UPN, u.DisplayName, u.IsAdmin,
			u.IsSsprRegistered, u.IsSsprEnabled, u.IsSsprCapable, u.IsMfaRegistered, u.IsMfaCapable, u.IsPasswordlessCapable,
			u.LastUpdatedDateTime.UTC().Format("2006-01-02T15:04:05.0000000Z"), nonNil(u.MethodsRegistered), def,
			u.IsSystemPreferredAuthenticationMethodEnabled, nonNil(u.SystemPreferredAuthenticationMethods),
			u.UserPreferredMethodForSecondaryAuthentication, u.UserType,
		}
	})
}

// defaultMfaMethod maps userDefaultAuthenticationMethod to beta's
// defaultMfaMethodType; unmapped values become "" as in the docs' example.
var defaultMfaMethod = map[string]string{
	"push": "microsoftAuthenticatorPush", "oath": "softwareOneTimePasscode",
	"voiceMobile": "mobilePhone", "sms": "mobilePhone",
	"voiceAlternateMobile": "alternateMobilePhone", "voiceOffice": "officePhone",
	"none": "none",
}

func (g *graphCtx) mfaSignIns() {
	type row struct {
		Type    string `json:"@odata.type"`
		ID      string `json:"id"`
		Created string `json:"createdDateTime"`
		Total   int64  `json:"totalSignIns"`
		Single  int64  `json:"singleFactorSignIns"`
		Multi   int64  `json:"multiFactorSignIns"`
	}
	page(g, g.d.MFASignIns, 0, "/beta/$metadata#reports/authenticationMethods/userMfaSignInSummary", func(m MFASignInDay) any {
		return row{"#microsoft.graph.userMfaSignInSummary", m.ID, isoTime(m.CreatedDateTime), m.TotalSignIns, m.SingleFactorSignIns, m.MultiFactorSignIns}
	})
}

func (g *graphCtx) passwordResets() {
	type row struct {
		Type       string `json:"@odata.type"`
		ID         string `json:"id"`
		Aggregated string `json:"aggregatedDateTime"`
		ByAdmin    int64  `json:"passwordResetsByAdminCount"`
		SelfReset  int64  `json:"passwordResetsSelfServiceCount"`
		SelfChange int64  `json:"changePasswordSelfServiceCount"`
	}
	page(g, g.d.PasswordResets, 0, "/beta/$metadata#reports/authenticationMethods/userPasswordResetsAndChangesSummary", func(p PasswordResetDay) any {
		return row{"#microsoft.graph.userPasswordResetsAndChangesSummary", p.ID, isoTime(p.AggregatedDateTime), p.PasswordResetsByAdminCount, p.PasswordResetsSelfServiceCount, p.ChangePasswordSelfServiceCount}
	})
}

// page serves one page of rows. The page size is Options.PageSize (capped at
// the report's documented maximum $top, 0 for none), or a smaller valid
// $top. The nextLink is absolute, keeps the request's query (so $top) and
// carries an opaque $skiptoken bound to the path.
func page[T any](g *graphCtx, rows []T, maxTop int, context string, item func(T) any) {
	size := g.s.opts.PageSize
	if maxTop > 0 && size > maxTop {
		size = maxTop
	}
	if v := g.r.URL.Query().Get("$top"); v != "" {
		top, err := strconv.Atoi(v)
		if err != nil || top < 1 {
			g.fail(http.StatusBadRequest, "BadRequest", "Invalid $top value '"+v+"'.")
			return
		}
		if (maxTop == 0 || top <= maxTop) && top < size {
			size = top
		}
	}
	servePage(g, rows, size, context, item)
}

// servePage serves the page of at most size rows that the request's
// $skiptoken points at, with a nextLink if more rows follow.
func servePage[T any](g *graphCtx, rows []T, size int, context string, item func(T) any) {
	path := strings.ToLower(g.r.URL.Path)
	offset := 0
	if v := g.r.URL.Query().Get("$skiptoken"); v != "" {
		var ok bool
		if offset, ok = parseSkipToken(path, v); !ok {
			g.fail(http.StatusBadRequest, "BadRequest", "The $skiptoken is invalid or expired.")
			return
		}
	}
	start := min(offset, len(rows))
	end := min(start+size, len(rows))
	out := make([]any, 0, end-start)
	for _, r := range rows[start:end] {
		out = append(out, item(r))
	}
	c := collection{Context: g.context(context), Value: out}
	if end < len(rows) {
		c.NextLink = g.nextLink(skipToken(path, end))
	}
	g.ok(c)
}

// nextLink is this request's URL with $skiptoken replaced.
func (g *graphCtx) nextLink(token string) string {
	var kept []string
	for _, kv := range strings.Split(g.r.URL.RawQuery, "&") {
		k, _, _ := strings.Cut(kv, "=")
		if uk, err := url.QueryUnescape(k); kv == "" || (err == nil && uk == "$skiptoken") {
			continue
		}
		kept = append(kept, kv)
	}
	kept = append(kept, "$skiptoken="+token)
	return g.s.GraphEndpoint() + g.r.URL.EscapedPath() + "?" + strings.Join(kept, "&")
}

func skipToken(path string, offset int) string {
	return base64.RawURLEncoding.EncodeToString([]byte(stableUUID(path)[:8] + ":" + strconv.Itoa(offset)))
}

func parseSkipToken(path, tok string) (int, bool) {
	b, err := base64.RawURLEncoding.DecodeString(tok)
	if err != nil {
		return 0, false
	}
	tag, off, ok := strings.Cut(string(b), ":")
	n, err := strconv.Atoi(off)
	return n, ok && err == nil && n >= 0 && tag == stableUUID(path)[:8]
}

// isoTime is Graph's DateTimeOffset as the reports send it: UTC, whole seconds.
func isoTime(t time.Time) string { return t.UTC().Format("2006-01-02T15:04:05Z") }

// nonNil makes an empty collection encode as [] rather than null.
func nonNil(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}
