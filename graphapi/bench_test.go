package graphapi

import (
	"fmt"
	"strings"
	"testing"
)

// page builds a page of n records from one record's JSON, %d replaced by its index.
func page(n int, record string) []byte {
	var b strings.Builder
	b.WriteString(`{"@odata.context":"https://graph.microsoft.com/beta/$metadata#x","value":[`)
	for i := range n {
		if i > 0 {
			b.WriteByte(',')
		}
		fmt.Fprintf(&b, record, i)
	}
	b.WriteString(`],"@odata.nextLink":"https://graph.microsoft.com/beta/x?$skiptoken=abc"}`)
	return []byte(b.String())
}

// benchDecode measures decodeRecords on a page of 1000 records.
func benchDecode[T any](b *testing.B, record string) {
	body := page(1000, record)
	b.SetBytes(int64(len(body)))
	b.ReportAllocs()
	records := 0
	for b.Loop() {
		_, got, err := decodeRecords[T](body, DefaultMaxRecordsPerPage)
		n := len(got)
		if err != nil || n != 1000 {
			b.Fatalf("n=%d err=%v", n, err)
		}
		records += n
	}
	b.ReportMetric(float64(records)/b.Elapsed().Seconds(), "records/s")
}

func BenchmarkDecodeUserRegistrationDetails(b *testing.B) {
	benchDecode[UserRegistrationDetails](b, `{"@odata.type":"#microsoft.graph.userRegistrationDetails","id":"86462606-fde0-4fc4-9e0c-%012d","userPrincipalName":"AlexW@Contoso.com","userDisplayName":"Alex Wilber","userType":"member","isAdmin":false,"isSsprRegistered":false,"isSsprEnabled":false,"isSsprCapable":false,"isMfaRegistered":true,"isMfaCapable":true,"isPasswordlessCapable":false,"lastUpdatedDateTime":"2023-03-13T19:15:41.6195833Z","methodsRegistered":["microsoftAuthenticatorPush","softwareOneTimePasscode"],"isSystemPreferredAuthenticationMethodEnabled":true,"systemPreferredAuthenticationMethods":["push"],"userPreferredMethodForSecondaryAuthentication":"push"}`)
}

func BenchmarkDecodeEvent(b *testing.B) {
	benchDecode[Event](b, `{"@odata.type":"#microsoft.graph.userEventsSummary","id":"3604e35c-12f3-a86a-5ff4-%012d","feature":"registration","userPrincipalName":"johndoe@contoso.net","userDisplayName":"John Doe","isSuccess":false,"authMethod":"microsoftAuthenticatorPush","failureReason":"User abandoned","eventDateTime":"2025-07-16T16:19:18Z"}`)
}

func BenchmarkDecodeCredentialRegistrationDetails(b *testing.B) {
	benchDecode[CredentialRegistrationDetails](b, `{"id":"%d","userPrincipalName":"abc@cd.com","userDisplayName":"abc","authMethods":["email","mobilePhone"],"isRegistered":false,"isEnabled":true,"isCapable":false,"isMfaRegistered":true}`)
}

func BenchmarkDecodeCredentialUsageSummary(b *testing.B) {
	benchDecode[CredentialUsageSummary](b, `{"id":"%d","feature":"registration","successfulActivityCount":12345,"failureActivityCount":123,"authMethod":"email"}`)
}

func BenchmarkDecodeUserMFASignInSummary(b *testing.B) {
	benchDecode[UserMFASignInSummary](b, `{"id":"%d","createdDateTime":"2025-07-16T16:19:18Z","totalSignIns":1000,"singleFactorSignIns":100,"multiFactorSignIns":900}`)
}

func BenchmarkDecodeUserPasswordResetsSummary(b *testing.B) {
	benchDecode[UserPasswordResetsSummary](b, `{"id":"%d","aggregatedDateTime":"2025-07-16T16:19:18Z","passwordResetsByAdminCount":100,"passwordResetsSelfServiceCount":75,"changePasswordSelfServiceCount":100}`)
}

func BenchmarkDecodeCredentialRegistrationCount(b *testing.B) {
	benchDecode[CredentialRegistrationCount](b, `{"id":"%d","totalUserCount":23123,"userRegistrationCounts":[{"registrationStatus":"registered","registrationCount":23423},{"userRegistrationStatus":"enabled","userRegistationCount":4234}]}`)
}
