// Package google delivers audiences to a Google Customer Match list
// through Google's Data Manager API (audienceMembers:ingest and :remove):
// e-mail and phone normalized and SHA-256 hashed, the name-and-address
// identifier with hashed names and clear country and postal code, OAuth
// tokens refreshed as they expire, and Google's fast-fail answers mapped
// back to the members they name.
package google
