package config

import (
	"maps"
	"regexp"
	"slices"
	"strings"

	"github.com/entra-authmethods-exporter/entra-authmethods-exporter/internal/redact"
)

// MaxGroups bounds a tenant's groups: each adds a few dozen series and a
// read of its members with every poll of the registration details.
const MaxGroups = 50

var guidRE = regexp.MustCompile(`^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$`)

// checkGroups validates a tenant's groups: names as tenant names (they are
// the group label's values), object ids as GUIDs, each group once.
func checkGroups(tp *tenantProblems, given groupsMap) []Group {
	if len(given) > MaxGroups {
		tp.add("groups", "%d groups; at most %d are allowed", len(given), MaxGroups)
	}
	var out []Group
	named := map[string]string{}
	for _, name := range slices.Sorted(maps.Keys(given)) {
		id := given[name] // sent as written: Graph matches ids in any case
		switch key := strings.ToLower(id); {
		case !nameRE.MatchString(name):
			tp.add("groups", "%s: a group name may only contain letters, digits, '_', '.' and '-'", redact.Value(name))
		case !guidRE.MatchString(id):
			tp.add("groups", "%s: %s is not a group object id (a GUID such as 0b7c5a4e-1d2f-4e3a-9b8c-7d6e5f4a3b2c)", name, redact.Value(id))
		case named[key] != "":
			tp.add("groups", "%s: the group %s is already listed as %s", name, id, named[key])
		default:
			named[key] = name
			out = append(out, Group{Name: name, ID: id})
		}
	}
	return out
}
