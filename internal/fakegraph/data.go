package fakegraph

import (
	"crypto/x509"
	"time"
)

// Tenant is one directory known to the fake identity platform, with the app
// registration that may sign in to it and the report data Graph serves for it.
type Tenant struct {
	TenantID, ClientID, ClientSecret string

	// ClientCertificate, when set, also lets the app sign in with a client
	// assertion (certificate credential). The assertion's signature is checked
	// against this certificate's RSA key, as Entra checks it.
	ClientCertificate *x509.Certificate

	// Unlicensed makes every report answer 403
	// Authentication_RequestFromNonPremiumTenantOrB2CTenant, as for a tenant
	// without Entra ID P1/P2. Directory reads (group members) need no
	// premium licence and are not affected.
	Unlicensed bool

	// NoGroupPermission makes every group read answer 403
	// Authorization_RequestDenied, as for an app without GroupMember.Read.All
	// (or Group.Read.All, Directory.Read.All). The reports are not affected.
	NoGroupPermission bool

	// TypoKeys makes getCredentialUserRegistrationCount use the keys of the
	// documentation's example (userRegistrationStatus, userRegistationCount)
	// instead of the resource definition's.
	TypoKeys bool

	// Attack makes the tenant's Graph or token endpoint hostile (see Attack).
	Attack Attack

	// Data is what the reports return; nil serves empty reports. It must not
	// be modified after AddTenant: call AddTenant again with a new Tenant to
	// change it while serving.
	Data *Data
}

// Data is a tenant's report content, in the exporter's terms. The fake turns
// it into Graph's wire format.
type Data struct {
	TotalUserCount     int64
	RegistrationCounts []RegistrationCount
	UsageSummaries     map[string][]UsageSummary // key "D1", "D7", "D30"
	CredentialDetails  []CredentialDetail
	CredentialUsage    []CredentialUsageEvent
	Users              []User
	Events             []Event
	MFASignIns         []MFASignInDay
	PasswordResets     []PasswordResetDay
	Groups             []Group
}

// Group is an Entra group and its transitive membership, served by
// /v1.0/groups/{id}/transitiveMembers (and its microsoft.graph.user cast).
//
// Members is the transitive membership already flattened: a nested group
// is listed itself, as a member of type "group", and so are its members.
// The fake serves exactly Members, in their order, paged: Graph lists each
// transitive member once, but a test may put an id in twice to see that the
// exporter counts it once. Members may name users that are not in
// Data.Users, as Graph's do: users created after the report was computed,
// or that the report leaves out (such as disabled ones).
type Group struct {
	// ID is the group's object id, a GUID; requests match it
	// case-insensitively.
	ID string
	// Name is for tests, benchmarks and the demo to find a group by (see
	// Data.GroupID); Graph's transitiveMembers does not serve it.
	Name    string
	Members []Member
}

// Member is one transitive member of a Group.
type Member struct {
	ID string
	// Type is the directory object's type: "user", "device", "group",
	// "servicePrincipal" or "orgContact" (served as @odata.type
	// #microsoft.graph.<Type>).
	Type string
}

// The member types of a Group.
const (
	MemberUser             = "user"
	MemberDevice           = "device"
	MemberGroup            = "group"
	MemberServicePrincipal = "servicePrincipal"
	MemberOrgContact       = "orgContact"
)

// GroupID is the id of the group named name, or "" if there is none.
func (d *Data) GroupID(name string) string {
	if g := d.group(func(g *Group) bool { return g.Name == name }); g != nil {
		return g.ID
	}
	return ""
}

// group is the first group for which match is true, or nil.
func (d *Data) group(match func(*Group) bool) *Group {
	if d == nil {
		return nil
	}
	for i := range d.Groups {
		if match(&d.Groups[i]) {
			return &d.Groups[i]
		}
	}
	return nil
}

// RegistrationCount is a userRegistrationCount of getCredentialUserRegistrationCount.
type RegistrationCount struct {
	Status string // registered, enabled, capable, mfaRegistered
	Count  int64
}

// UsageSummary is a credentialUsageSummary row.
type UsageSummary struct {
	Feature, AuthMethod string
	Successful, Failed  int64
}

// CredentialDetail is a legacy credentialUserRegistrationDetails row.
type CredentialDetail struct {
	ID, UPN, DisplayName                                string
	AuthMethods                                         []string // registrationAuthMethod names
	IsRegistered, IsEnabled, IsCapable, IsMfaRegistered bool
}

// CredentialUsageEvent is a legacy userCredentialUsageDetails row.
type CredentialUsageEvent struct {
	ID, Feature, UPN, DisplayName, AuthMethod, FailureReason string
	IsSuccess                                                bool
	EventDateTime                                            time.Time
}

// User is a userRegistrationDetails row.
type User struct {
	ID, UPN, DisplayName, UserType string // UserType: member or guest

	IsAdmin, IsMfaCapable, IsMfaRegistered, IsPasswordlessCapable bool
	IsSsprCapable, IsSsprEnabled, IsSsprRegistered                bool
	IsSystemPreferredAuthenticationMethodEnabled                  bool

	MethodsRegistered                             []string
	SystemPreferredAuthenticationMethods          []string
	UserPreferredMethodForSecondaryAuthentication string // may be ""
	LastUpdatedDateTime                           time.Time
}

// Event is a userEventsSummary row. ID is the user's id, not the event's.
type Event struct {
	ID, Feature, UPN, DisplayName, AuthMethod, FailureReason string
	IsSuccess                                                bool
	EventDateTime                                            time.Time
}

// MFASignInDay is a userMfaSignInSummary row.
type MFASignInDay struct {
	ID                                                    string
	CreatedDateTime                                       time.Time
	TotalSignIns, SingleFactorSignIns, MultiFactorSignIns int64
}

// PasswordResetDay is a userPasswordResetsAndChangesSummary row.
type PasswordResetDay struct {
	ID                                                                                         string
	AggregatedDateTime                                                                         time.Time
	PasswordResetsByAdminCount, PasswordResetsSelfServiceCount, ChangePasswordSelfServiceCount int64
}
