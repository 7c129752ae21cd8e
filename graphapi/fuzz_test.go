package graphapi

import (
	"fmt"
	"reflect"
	"testing"
)

// Bodies every decoder is seeded with: documented shapes, typos and oddities.
var commonSeeds = []string{
	`{"@odata.context":"x","value":[]}`,
	`{"value":null}`,
	`{"@odata.nextLink":"https://graph.microsoft.com/beta/x?$skiptoken=a","value":[{}]}`,
	`{"value":[{"a":"]}\"{"}], "@odata.nextLink" : "https://g/x?a=\u0026b", "\u0040odata.nextLink":"https://g/last"}`,
	`{"@odata.nextLink":null,"value":[1e5,true,false,null,"x"]}`,
	`{"value":{"id":"single object, as a documentation example shows"}}`,
	`{"value":[{"unknown":{"nested":[1,2,{"a":null}]},"@odata.type":"#microsoft.graph.x"}],"@odata.count":1}`,
	`{"value":[{"id":"a"},`,
	`{"error":{"code":"TooManyRequests","message":"Please retry again later."}}`,
	`<html>503</html>`,
	``,
}

// fuzzDecode checks decodeRecords on arbitrary bodies: no panic, every
// error is a decode error, no more records than the cap, and the result is
// the same when decoded again.
func fuzzDecode[T any](f *testing.F, seeds ...string) {
	for _, s := range append(seeds, commonSeeds...) {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		const maxRecords = 100
		next, got, err := decodeRecords[T](body, maxRecords)
		if err != nil && ReasonOf(err) != ReasonDecode {
			t.Fatalf("error %v has reason %q, want decode", err, ReasonOf(err))
		}
		if len(got) > maxRecords {
			t.Fatalf("%d records past the cap of %d", len(got), maxRecords)
		}
		next2, got2, err2 := decodeRecords[T](body, maxRecords)
		if next != next2 || fmt.Sprint(err) != fmt.Sprint(err2) || !reflect.DeepEqual(got, got2) {
			t.Fatal("decoding the same body twice gave different results")
		}
	})
}

func FuzzDecodeCredentialRegistrationCount(f *testing.F) {
	fuzzDecode[CredentialRegistrationCount](f,
		`{"value":[{"id":"id-value","totalUserCount":23123,"userRegistrationCounts":[{"userRegistrationStatus":"registered","userRegistationCount":23423}]}]}`,
		`{"value":[{"totalUserCount":"23123","userRegistrationCounts":[{"registrationStatus":"capable","registrationCount":323}]}]}`,
		`{"value":[{"totalUserCount":1e300}]}`)
}

func FuzzDecodeCredentialUsageSummary(f *testing.F) {
	fuzzDecode[CredentialUsageSummary](f,
		`{"value":[{"id":"id-value","feature":"registration","successfulActivityCount":12345,"failureActivityCount":123,"authMethod":"email"}]}`,
		`{"value":[{"successfulActivityCount":"Int64","failureActivityCount":"Int64"}]}`)
}

func FuzzDecodeCredentialRegistrationDetails(f *testing.F) {
	fuzzDecode[CredentialRegistrationDetails](f,
		`{"value":[{"id":"id-value","userPrincipalName":"u","userDisplayName":"d","authMethods":["email","mobileSMS"],"isRegistered":false,"isEnabled":true,"isCapable":false,"isMfaRegistered":true}]}`)
}

func FuzzDecodeUserRegistrationDetails(f *testing.F) {
	fuzzDecode[UserRegistrationDetails](f,
		`{"value":[{"id":"86462606","isAdmin":false,"isSsprRegistered":false,"isMfaRegistered":true,"isMfaCapable":true,"lastUpdatedDateTime":"2023-03-13T19:15:41.6195833Z","methodsRegistered":["microsoftAuthenticatorPush","softwareOneTimePasscode"],"defaultMfaMethod":"","systemPreferredAuthenticationMethods":["push"],"userPreferredMethodForSecondaryAuthentication":"","userType":"guest"}]}`,
		`{"value":[{"id":"a","isAdmin":null,"userType":null},{"id":"b"},{"id":"c","isAdmin":true,"userType":""}]}`)
}

func FuzzDecodeEvent(f *testing.F) {
	fuzzDecode[Event](f,
		`{"value":[{"@odata.type":"#microsoft.graph.userEventsSummary","id":"3604e35c","feature":"registration","userPrincipalName":"j@c","isSuccess":true,"authMethod":"microsoftAuthenticatorPush","failureReason":"","eventDateTime":"2025-07-16T16:19:18Z"}]}`,
		`{"value":[{"eventDateTime":"2025-07-16T16:19:18"},{"eventDateTime":""},{"eventDateTime":null},{"eventDateTime":"yesterday"}]}`,
		`{"value":[{"id":"a","isSuccess":null},{"id":"b"},{"id":"c","isSuccess":false},{"id":"d","isSuccess":"false"}]}`)
}

func FuzzDecodeUserMFASignInSummary(f *testing.F) {
	fuzzDecode[UserMFASignInSummary](f,
		`{"value":[{"id":"77ff","createdDateTime":"2025-07-16T16:19:18Z","totalSignIns":1000,"singleFactorSignIns":100,"multiFactorSignIns":9900}]}`)
}

func FuzzDecodeUserPasswordResetsSummary(f *testing.F) {
	fuzzDecode[UserPasswordResetsSummary](f,
		`{"value":[{"id":"8c50","aggregatedDateTime":"2025-07-16T16:19:18Z","passwordResetsByAdminCount":100,"passwordResetsSelfServiceCount":75,"changePasswordSelfServiceCount":100},{"aggregatedDateTime":"2025-07-05T16:19:18Z"}]}`)
}
