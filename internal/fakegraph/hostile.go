package fakegraph

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
)

// Attack makes a tenant's Graph or token endpoint hostile, for the attack
// suite: each is what a broken or malicious Graph, or a man in the middle,
// could send. The exporter must stay within its memory, never leak a token
// and keep serving the other tenants.
type Attack string

// The attacks. Those on Graph answer every report request of the tenant,
// and every group read.
const (
	AttackEndlessBody     Attack = "endless-body"      // a 200 whose body never ends
	AttackGzipBomb        Attack = "gzip-bomb"         // 1 GiB of JSON in a 1 MB gzip body
	AttackLyingLength     Attack = "lying-length"      // Content-Length of 64 MiB, a few bytes, then silence
	AttackEmptyRecords    Attack = "empty-records"     // 15 MB of {} records in one page
	AttackDistinctLabels  Attack = "distinct-labels"   // 200,000 rows, each with its own user type, method, feature, reason, status
	AttackHugeLabel       Attack = "huge-label"        // a 6 MB user type, method and failure reason (under the page cap)
	AttackManyMethods     Attack = "many-methods"      // one user with 300,000 distinct methods
	AttackDuplicateUsers  Attack = "duplicate-users"   // the same 100 users on each of 10 pages
	AttackNullRows        Attack = "null-rows"         // pages of null records
	AttackNegativeCounts  Attack = "negative-counts"   // counts below zero
	AttackRetryAfterStorm Attack = "retry-after-storm" // every request a 429 asking to wait 119 s
	AttackTokenLeak       Attack = "token-leak"        // token answers azidentity cannot parse, each holding a token
	AttackTokenHang       Attack = "token-hang"        // the token endpoint never answers
)

// Attacks lists every attack.
func Attacks() []Attack {
	return []Attack{AttackEndlessBody, AttackGzipBomb, AttackLyingLength, AttackEmptyRecords,
		AttackDistinctLabels, AttackHugeLabel, AttackManyMethods, AttackDuplicateUsers, AttackNullRows,
		AttackNegativeCounts, AttackRetryAfterStorm, AttackTokenLeak, AttackTokenHang}
}

// LeakedTokenPrefix starts every access token AttackTokenLeak sends: no
// log line, page or response of the exporter may contain it.
const LeakedTokenPrefix = "LEAKED-ACCESS-TOKEN-"

// hostilePageRows is the rows per page of the attacks that page.
const hostilePageRows = 5000

// serveAttack answers a report request of a tenant under a Graph attack;
// it returns false for attacks that leave Graph alone.
func (g *graphCtx) serveAttack() bool {
	w, r := g.w, g.r
	switch g.t.Attack {
	case AttackEndlessBody:
		w.Header().Set("Content-Type", odataJSON)
		bw := bufio.NewWriter(w)
		bw.WriteString(`{"value":[`)
		for i := 0; r.Context().Err() == nil; i++ {
			if _, err := fmt.Fprintf(bw, `{"id":"u%d","userType":"member"},`, i); err != nil {
				break // the client hung up
			}
		}
	case AttackGzipBomb:
		w.Header().Set("Content-Type", odataJSON)
		w.Header().Set("Content-Encoding", "gzip")
		w.Write(g.s.hostile.gzipBomb())
	case AttackLyingLength:
		w.Header().Set("Content-Type", odataJSON)
		w.Header().Set("Content-Length", strconv.Itoa(64<<20))
		w.WriteHeader(http.StatusOK)
		w.Write([]byte(`{"value":[{"id":"u1",`))
		http.NewResponseController(w).Flush()
		<-r.Context().Done()
	case AttackEmptyRecords:
		w.Header().Set("Content-Type", odataJSON)
		bw := bufio.NewWriter(w)
		bw.WriteString(`{"value":[{}`)
		for range 5_000_000 {
			bw.WriteString(`,{}`)
		}
		bw.WriteString(`]}`)
		bw.Flush()
	case AttackDistinctLabels:
		g.pages(200_000, func(b *bytes.Buffer, i int) {
			v := strconv.Itoa(i)
			switch {
			case strings.Contains(r.URL.Path, "userRegistrationDetails"):
				fmt.Fprintf(b, `{"id":"u%s","userType":"type%s","isAdmin":false,"methodsRegistered":["m%s","n%s"],"userPreferredMethodForSecondaryAuthentication":"p%s"}`, v, v, v, v, v)
			case strings.Contains(r.URL.Path, "getCredentialUserRegistrationCount"):
				fmt.Fprintf(b, `{"id":"c%s","totalUserCount":1,"userRegistrationCounts":[{"registrationStatus":"s%s","registrationCount":1}]}`, v, v)
			default: // events and the legacy reports
				fmt.Fprintf(b, `{"id":"u%s","feature":"f%s","isSuccess":false,"authMethod":"m%s","failureReason":"r%s","eventDateTime":"2026-01-01T00:00:00Z","successfulActivityCount":1,"failureActivityCount":1,"authMethods":["m%s"]}`, v, v, v, v, v)
			}
		})
	case AttackHugeLabel:
		huge := strings.Repeat("x", 6<<20)
		g.pages(1, func(b *bytes.Buffer, i int) {
			fmt.Fprintf(b, `{"id":"u1","userType":"%s","feature":"%s","authMethod":"%s","failureReason":"%s","isSuccess":false,"eventDateTime":"2026-01-01T00:00:00Z"}`,
				huge[:len(huge)/4], huge[:len(huge)/4], huge[:len(huge)/4], huge[:len(huge)/4])
		})
	case AttackManyMethods:
		g.pages(1, func(b *bytes.Buffer, _ int) {
			b.WriteString(`{"id":"u1","userType":"member","methodsRegistered":[`)
			for i := range 300_000 {
				if i > 0 {
					b.WriteByte(',')
				}
				fmt.Fprintf(b, `"m%d"`, i)
			}
			b.WriteString(`],"authMethods":[]}`)
		})
	case AttackDuplicateUsers:
		g.pagesOf(1000, 100, func(b *bytes.Buffer, i int) {
			fmt.Fprintf(b, `{"id":"u%d","userType":"member","isAdmin":false,"isMfaRegistered":true,"methodsRegistered":["email"],"feature":"registration","isSuccess":true,"authMethod":"email","eventDateTime":"2026-01-01T00:00:%02dZ"}`, i%100, i%60)
		})
	case AttackNullRows:
		g.pages(10, func(b *bytes.Buffer, _ int) { b.WriteString("null") })
	case AttackNegativeCounts:
		g.pages(1, func(b *bytes.Buffer, _ int) {
			b.WriteString(`{"id":"n1","totalUserCount":-5,"userRegistrationCounts":[{"registrationStatus":"registered","registrationCount":-3}],` +
				`"createdDateTime":"2026-01-01T00:00:00Z","totalSignIns":-1,"singleFactorSignIns":-1,"multiFactorSignIns":-1,` +
				`"aggregatedDateTime":"2026-01-01T00:00:00Z","passwordResetsByAdminCount":-1,"passwordResetsSelfServiceCount":-1,"changePasswordSelfServiceCount":-1,` +
				`"successfulActivityCount":-1,"failureActivityCount":-1}`)
		})
	case AttackRetryAfterStorm:
		w.Header().Set("Retry-After", "119")
		g.fail(http.StatusTooManyRequests, "TooManyRequests", "Please retry again later.")
	default:
		return false
	}
	return true
}

// pages serves n rows of hostile data in pages of hostilePageRows.
func (g *graphCtx) pages(n int, row func(b *bytes.Buffer, i int)) {
	g.pagesOf(n, hostilePageRows, row)
}

// pagesOf serves n rows in pages of size rows, with absolute nextLinks.
func (g *graphCtx) pagesOf(n, size int, row func(b *bytes.Buffer, i int)) {
	start, _ := strconv.Atoi(g.r.URL.Query().Get("$skiptoken"))
	start = max(0, min(start, n))
	end := min(start+size, n)
	var b bytes.Buffer
	b.WriteString(`{"@odata.context":"` + g.s.GraphEndpoint() + `/beta/$metadata#hostile",`)
	if end < n {
		fmt.Fprintf(&b, `"@odata.nextLink":"%s%s?$skiptoken=%d",`, g.s.GraphEndpoint(), g.r.URL.EscapedPath(), end)
	}
	b.WriteString(`"value":[`)
	for i := start; i < end; i++ {
		if i > start {
			b.WriteByte(',')
		}
		row(&b, i)
	}
	b.WriteString(`]}`)
	g.w.Header().Set("Content-Type", odataJSON)
	g.w.Write(b.Bytes())
}

// hostileState is what the attacks keep across requests.
type hostileState struct {
	bombOnce sync.Once
	bomb     []byte       // gzipBomb's body
	leaks    atomic.Int64 // tokens sent by AttackTokenLeak
}

// gzipBomb is the gzip of a JSON page of 1 GiB, made once (about 1 MB):
// gzip members one after another, which a reader inflates as one stream,
// the 1 MiB middle one compressed once and repeated, so that making the
// bomb costs milliseconds rather than compressing 1 GiB (a minute under
// -race).
func (h *hostileState) gzipBomb() []byte {
	h.bombOnce.Do(func() {
		member := func(data []byte) []byte {
			var b bytes.Buffer
			zw, _ := gzip.NewWriterLevel(&b, gzip.BestCompression)
			zw.Write(data)
			zw.Close()
			return b.Bytes()
		}
		padding := member(bytes.Repeat([]byte{'a'}, 1<<20))
		bomb := member([]byte(`{"value":[],"padding":"`))
		for range 1 << 10 {
			bomb = append(bomb, padding...)
		}
		h.bomb = append(bomb, member([]byte(`"}`))...)
	})
	return h.bomb
}

// leakVariants are token answers azidentity cannot parse; %s is the token.
var leakVariants = []string{
	`{"token_type":"Bearer","expires_in":3599.5,"ext_expires_in":3599,"access_token":"%s"}`,
	`{"token_type":"Bearer","expires_in":null,"access_token":"%s"}`,
	`{"token_type":"Bearer","expires_in":1e20,"access_token":"%s"}`,
	`{"token_type":5,"expires_in":3599,"access_token":"%s"}`,
	`{"token_type":"Bearer","expires_in":3599,"access_token":"%s`,
	`{"token_type":"Bearer","expires_in":"soon","access_token":"%s"}`,
	`{"token_type":"Bearer","expires_in":3599,"access_token":"%s",}`,
	`{"access_token":"%s","token_type":"Bearer","expires_in":-1}`,
	`["%s"]`,
}

// serveTokenAttack answers a token request of a tenant under a token
// attack; it returns false for attacks that leave the token endpoint alone.
func (s *Server) serveTokenAttack(t *Tenant, w http.ResponseWriter, r *http.Request) bool {
	switch t.Attack {
	case AttackTokenLeak:
		n := s.hostile.leaks.Add(1)
		w.Header().Set("Content-Type", "application/json; charset=utf-8")
		fmt.Fprintf(w, leakVariants[int(n)%len(leakVariants)], LeakedTokenPrefix+strconv.FormatInt(n, 10))
	case AttackTokenHang:
		io.Copy(io.Discard, r.Body) // read to the end, so a closed connection ends the context
		<-r.Context().Done()
	default:
		return false
	}
	return true
}
