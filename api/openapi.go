package api

import _ "embed"

// openAPI is the OpenAPI 3 document of /api/v1, served at
// /api/v1/openapi.json; the tests check every route's requests and
// responses against it.
//
//go:embed openapi.json
var openAPI []byte
