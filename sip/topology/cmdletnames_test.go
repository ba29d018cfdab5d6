package topology

import (
	"testing"

	"github.com/stretchr/testify/assert"
)

// The cmdlets take the pool names scenario files take: "pool01" as well as the FQDN, in
// any case, or Lync's service identity.
func TestResolvePool(t *testing.T) {
	pools := []string{"pool01.east.contoso.com", "pool01.west.contoso.com", "pool02.contoso.com"}
	assert.Equal(t, "pool02.contoso.com", ResolvePool(pools, "pool02"))
	assert.Equal(t, "pool02.contoso.com", ResolvePool(pools, "pool02.contoso.com"))
	assert.Equal(t, "pool01.east.contoso.com", ResolvePool(pools, "pool01.east"))
	assert.Empty(t, ResolvePool(pools, "pool01"), "ambiguous")
	assert.Empty(t, ResolvePool(pools, "pool0"))
	assert.Equal(t, "pool02.contoso.com", ResolvePool(pools, "POOL02"))
	assert.Equal(t, "pool02.contoso.com", ResolvePool(pools, "service:ApplicationServer:pool02.contoso.com"))
	assert.Equal(t, "pool02.contoso.com", ResolvePool(pools, "ApplicationServer:pool02"))
}

func TestUserName(t *testing.T) {
	for _, s := range []string{"bob", "sip:bob@contoso.com", "bob@contoso.com", " bob "} {
		assert.Equal(t, "bob", UserName(s), s)
	}
}
