package oneshot

import (
	"fmt"
	"strings"

	"github.com/spf13/viper"
)

// action is one of baton-sdk's one-shot actions: the flags that belong to
// it, of which the first `starts` start it (the others only go with it:
// a type, an id, a cursor), and whether baton-cursor does it.
type action struct {
	flags     []string
	starts    int
	supported bool
}

// actions lists every one-shot action baton-sdk v0.25.0 defines, each with
// all of its flags. A run with none of them is a sync.
var actions = []action{
	{[]string{"create-account-email", "create-account-login", "create-account-profile", "create-account-resource-type"}, 3, true},
	{[]string{"delete-resource", "delete-resource-type"}, 1, true},
	{[]string{"event-feed", "event-feed-id", "event-feed-start-at", "event-feed-cursor"}, 1, true},
	{[]string{"grant-entitlement", "grant-principal", "grant-principal-type"}, 1, true},
	{[]string{"revoke-grant"}, 1, true},
	{[]string{"rotate-credentials", "rotate-credentials-type"}, 1, false},
	{[]string{"invoke-action", "invoke-action-args", "invoke-action-resource-type"}, 1, false},
	{[]string{"list-action-schemas", "list-action-schemas-resource-type"}, 1, false},
	{[]string{"list-resource-actions"}, 1, false},
	{[]string{"invoke-resource-action", "invoke-resource-action-resource-type", "invoke-resource-action-args"}, 1, false},
	{[]string{"create-ticket", "ticket-template-path"}, 1, false},
	{[]string{"bulk-create-ticket", "bulk-ticket-template-path"}, 1, false},
	{[]string{"list-ticket-schemas"}, 1, false},
	{[]string{"get-ticket", "ticket-id"}, 1, false},
	{[]string{"diff-syncs", "base-sync-id", "applied-sync-id"}, 1, false},
	{[]string{"compact-syncs", "compact-output-path", "compact-file-paths", "compact-sync-ids"}, 1, false},
}

// pickAction is the one action the flags ask for ("" for a sync), or an
// error naming the flags to fix: a run never turns into something else
// than what was asked, such as a sync when a flag lacks its action.
func pickAction(v *viper.Viper) (string, error) {
	var picked []string
	for _, a := range actions {
		var started bool
		var given []string
		for i, f := range a.flags {
			val := v.GetString(f) // a bool flag reads "true" or "false"
			switch {
			case i < a.starts && val != "" && val != "false":
				started = true
			case i >= a.starts && v.IsSet(f):
				given = append(given, "--"+f)
			}
		}
		switch {
		case started && !a.supported:
			return "", unsupported(a.flags[0])
		case started:
			picked = append(picked, a.flags[0])
		case len(given) > 0:
			return "", fmt.Errorf("baton-cursor: %s only goes with --%s, which is not set: add it, or drop %s to sync",
				strings.Join(given, ", "), a.flags[0], strings.Join(given, ", "))
		}
	}
	if len(picked) > 1 {
		return "", fmt.Errorf("baton-cursor: --%s and --%s are two actions: run one at a time", picked[0], picked[1])
	}
	if len(picked) == 0 {
		return "", nil
	}
	return picked[0], nil
}

// unsupported names a baton-sdk action that baton-cursor has nothing for.
func unsupported(flag string) error {
	return fmt.Errorf("baton-cursor: --%s is not supported by this connector: it syncs members and roles, creates accounts (--create-account-email), deletes them (--delete-resource), grants and revokes group memberships (--grant-entitlement, --revoke-grant) and reads Cursor's audit log (--event-feed)", flag)
}
