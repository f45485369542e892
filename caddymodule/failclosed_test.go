package caddymodule

import (
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/caddyserver/caddy/v2/modules/caddyhttp"

	"github.com/qfsign/qfsign/signer"
)

// TestAnyPrepareErrorRefuses: an error that is not a *FieldError (none
// exists today; a future signer change could add one) still refuses,
// and nothing reaches the next handler.
func TestAnyPrepareErrorRefuses(t *testing.T) {
	orig := validateParams
	t.Cleanup(func() { validateParams = orig })
	for _, tc := range []struct {
		name       string
		err        error
		wantStatus int
		wantRule   string
	}{
		{"plain error", errors.New("parser state corrupted"), 500, `"rule":"internal"`},
		{"wrapped field error", fmt.Errorf("validate: %w", &signer.FieldError{Field: "txamt", Rule: "required", Msg: "txamt is required"}), 400, `"field":"txamt"`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			validateParams = func(*signer.Endpoint, signer.Params, *signer.Policy) (signer.Params, error) {
				// Parameters that would sign fine: only the error refuses.
				p, _ := signer.ParseForm([]byte("txamt=1&txcurrcd=HKD&pay_type=801101&out_trade_no=F-1"), nil)
				return p, tc.err
			}
			h := testHandler(t)
			forwarded := false
			next := caddyhttp.HandlerFunc(func(w http.ResponseWriter, r *http.Request) error {
				forwarded = true
				return nil
			})
			rec := httptest.NewRecorder()
			if err := h.ServeHTTP(rec, newRequest("txamt=1&txcurrcd=HKD&pay_type=801101&out_trade_no=F-1"), next); err != nil {
				t.Fatal(err)
			}
			if forwarded || rec.Code != tc.wantStatus || !strings.Contains(rec.Body.String(), tc.wantRule) {
				t.Fatalf("forwarded %v, %d %s", forwarded, rec.Code, rec.Body)
			}
		})
	}
}
