package transport

import (
	"strings"
	"testing"
)

func TestUnmarshalStrictRefusesWhatEncodingJSONLetsThrough(t *testing.T) {
	for name, tc := range map[string]struct{ body, field string }{
		"invalid UTF-8":             {"{\"user_id\":\"a\xffb\"}", "user_id"},
		"invalid UTF-8 nested":      {"{\"items\":[{\"product_id\":\"\xc3\"}]}", "product_id"},
		"field name of other case":  {`{"USER_ID":"u"}`, "USER_ID"},
		"nested name of other case": {`{"items":[{"Product_ID":"p"}]}`, "Product_ID"},
		"duplicate field":           {`{"user_id":"a","user_id":"b"}`, "user_id"},
		"duplicate escaped":         {`{"user_id":"a","user\u005fid":"b"}`, "user_id"},
		"duplicate nested":          {`{"items":[{"quantity":1,"quantity":2}]}`, "quantity"},
		"lone high surrogate":       {`{"user_id":"a\ud800b"}`, "user_id"},
		"lone low surrogate":        {`{"user_id":"\udc00"}`, "user_id"},
		"reversed surrogates":       {`{"user_id":"\udc00\ud800"}`, "user_id"},
		"high surrogate at the end": {`{"items":[{"product_id":"p\uD83D"}]}`, "product_id"},
	} {
		t.Run(name, func(t *testing.T) {
			var v orderLike
			err := UnmarshalStrict([]byte(tc.body), &v)
			if err == nil {
				t.Fatalf("accepted %q as %+v", tc.body, v)
			}
			e := checkDecodeError(t, err)
			if !strings.HasPrefix(e.Message, tc.field+": ") {
				t.Fatalf("message %q does not name %s", e.Message, tc.field)
			}
		})
	}
	var v orderLike
	if err := UnmarshalStrict([]byte(`{"user_id":"é\u00e9\ud83d\ude00","items":[{"product_id":"p","quantity":1},{"product_id":"q","quantity":2}]}`), &v); err != nil {
		t.Fatalf("refused a good body: %v", err)
	}
}
