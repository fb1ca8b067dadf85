package productservice

import "github.com/kitshop/kitshop/transport"

// testCursors signs the cursors of the handlers these tests build, as a
// service's SERVICE_SECRET does.
var testCursors = transport.NewCursors("test-service-secret-0123456789abcdef")
