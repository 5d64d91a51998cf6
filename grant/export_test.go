package grant

// Exported for the tests of package grant_test, the fuzz targets among
// them: the registration rules and the authorization-time matching of
// redirect URIs, which the public API reaches only through RegisterClient,
// UpdateClient and CheckRequest.
var (
	CheckRedirectURI = checkRedirectURI
	MatchRedirectURI = matchRedirectURI
)
