//go:build !unix

package ownedtemp

import "io"

// Without flock a folder's owner cannot be told alive or gone, so no folder
// is ever swept: on these systems a hard-stopped run's temp folder stays.

func lockNew(string) (io.Closer, error) { return nil, nil }

func lockAbandoned(string) (io.Closer, bool) { return nil, false }
