// Package braze delivers audiences to Braze: members' attributes, a
// membership attribute per segment and subscription groups through
// /users/track, and erasure through /users/delete.
package braze
