package graphapi

import (
	"go/ast"
	"go/parser"
	"go/token"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
)

// reasonsDoc holds the one table of failure reasons: what causes each and
// how to fix it. The runbook and the README link to it.
const reasonsDoc = "../docs/operations.md"

// reasonsHeader is the header row of that table, as written.
const reasonsHeader = "| reason | what causes it | how to fix it |"

// TestReasonsDoc keeps the failure reasons' table in docs/operations.md in
// step with this package:
//
//   - its rows name exactly the Reason constants declared here, none missing,
//     none extra, in the order they are declared (read from the source, so a
//     new constant counts even before it is added to Reasons);
//   - Reasons lists the same constants in the same order;
//   - for every reason with a hint (the words the log line's hint= prints),
//     each clause of the hint (the hint split at "; ") appears in the reason's
//     row. A hint mixes cause and remedy ("the token was refused; check
//     that ..."), so a clause may stand in either column. The comparison
//     ignores case, Markdown code spans and emphasis (backticks, asterisks)
//     and runs of white space, so formatting and line wrapping do not matter,
//     but changing a hint's words without the table's, or the table's
//     without the hint's, fails. HintOf's narrower hint for a 403 with
//     Graph's code for a missing Directory.Read.All must be in the forbidden
//     row too.
func TestReasonsDoc(t *testing.T) {
	declared := declaredReasons(t)
	if len(declared) == 0 {
		t.Fatal("found no Reason constants in the package's source")
	}
	if !slices.Equal(Reasons(), declared) {
		t.Errorf("Reasons() = %v, want every declared Reason in order: %v", Reasons(), declared)
	}

	rows := reasonRows(t)
	var documented []Reason
	for _, r := range rows {
		documented = append(documented, r.reason)
	}
	if !slices.Equal(documented, declared) {
		t.Errorf("%s: the failure reasons' table lists %v, want exactly the declared reasons in their order %v",
			reasonsDoc, documented, declared)
	}

	checkHints(t, rows, declared)
}

// checkHints checks that each clause of every hint the log line may print
// appears in the row of the hint's reason.
func checkHints(t *testing.T, rows []reasonRow, declared []Reason) {
	t.Helper()
	hinted := map[Reason][]string{}
	for _, r := range declared {
		if h := hints[r]; h != "" {
			hinted[r] = append(hinted[r], h)
		}
	}
	noDirectoryRead := &Error{Reason: ReasonForbidden, StatusCode: http.StatusForbidden, Code: codeNoDirectoryRead}
	if h := HintOf(noDirectoryRead); h != hints[ReasonForbidden] {
		hinted[ReasonForbidden] = append(hinted[ReasonForbidden], h)
	}
	for _, r := range rows {
		text := normaliseDoc(r.cause + " " + r.fix)
		for _, hint := range hinted[r.reason] {
			for _, clause := range strings.Split(hint, "; ") {
				if !strings.Contains(text, normaliseDoc(clause)) {
					t.Errorf("%s: the row of %q does not say what its hint says: %q (hint %q)", reasonsDoc, r.reason, clause, hint)
				}
			}
		}
		delete(hinted, r.reason)
	}
	for r := range hinted {
		t.Errorf("%s: reason %q has a hint but no row", reasonsDoc, r)
	}
}

// declaredReasons returns the values of the package's constants of type
// Reason, in the order the source declares them.
func declaredReasons(t *testing.T) []Reason {
	t.Helper()
	files, err := filepath.Glob("*.go")
	if err != nil {
		t.Fatal(err)
	}
	slices.Sort(files)
	var out []Reason
	fset := token.NewFileSet()
	for _, name := range files {
		if strings.HasSuffix(name, "_test.go") {
			continue
		}
		f, err := parser.ParseFile(fset, name, nil, 0)
		if err != nil {
			t.Fatal(err)
		}
		for _, decl := range f.Decls {
			if gd, ok := decl.(*ast.GenDecl); ok && gd.Tok == token.CONST {
				out = append(out, reasonConsts(t, fset, gd)...)
			}
		}
	}
	return out
}

// reasonConsts returns the values of a const declaration's constants of
// type Reason.
func reasonConsts(t *testing.T, fset *token.FileSet, gd *ast.GenDecl) []Reason {
	t.Helper()
	var out []Reason
	for _, spec := range gd.Specs {
		vs := spec.(*ast.ValueSpec)
		if id, ok := vs.Type.(*ast.Ident); !ok || id.Name != "Reason" {
			continue
		}
		for i, n := range vs.Names {
			lit, ok := vs.Values[i].(*ast.BasicLit)
			if !ok || lit.Kind != token.STRING {
				t.Fatalf("%s: Reason constant %s is not a string literal", fset.Position(n.Pos()), n.Name)
			}
			v, err := strconv.Unquote(lit.Value)
			if err != nil {
				t.Fatal(err)
			}
			out = append(out, Reason(v))
		}
	}
	return out
}

type reasonRow struct {
	reason     Reason
	cause, fix string
}

// reasonRows reads the rows of the failure reasons' table.
func reasonRows(t *testing.T) []reasonRow {
	t.Helper()
	raw, err := os.ReadFile(reasonsDoc)
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(string(raw), "\n")
	start := slices.IndexFunc(lines, func(l string) bool { return strings.TrimSpace(l) == reasonsHeader })
	if start < 0 {
		t.Fatalf("%s: no table with the header %s", reasonsDoc, reasonsHeader)
	}
	var rows []reasonRow
	for _, line := range lines[start+2:] { // past the header and the |---| line
		line = strings.TrimSpace(line)
		if !strings.HasPrefix(line, "|") {
			break
		}
		cells := strings.Split(strings.Trim(line, "|"), "|")
		if len(cells) != 3 {
			t.Fatalf("%s: a row of the failure reasons' table has %d cells, want 3: %s", reasonsDoc, len(cells), line)
		}
		rows = append(rows, reasonRow{
			reason: Reason(strings.Trim(cells[0], " `")),
			cause:  cells[1],
			fix:    cells[2],
		})
	}
	return rows
}

// normaliseDoc lowers the case, drops code spans' backticks and emphasis,
// and folds white space, so that only the words are compared.
func normaliseDoc(s string) string {
	s = strings.NewReplacer("`", "", "*", "").Replace(strings.ToLower(s))
	return strings.Join(strings.Fields(s), " ")
}
