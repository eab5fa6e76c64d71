package reset

import "testing"

// TestMailsCarryLanguage: every mail a flow sends carries the account's
// own language and the request's Accept-Language, read with the account
// (no call more), for the Mailer to choose by.
func TestMailsCarryLanguage(t *testing.T) {
	h := newHarness(t, nil)
	german := alice
	german.Language = "de"
	h.store.mu.Lock()
	h.store.accounts[alice.ID] = german
	h.store.mu.Unlock()
	const accept = "fr-CA, es;q=0.5"

	code := h.requestCode(t, CodeRequest{Account: Lookup{Email: mustEmail(alice.Email)}, IP: clientIP, AcceptLanguage: accept})
	h.later()
	if err := h.svc.ResetWithCode(t.Context(), CodeReset{Account: Lookup{Email: mustEmail(alice.Email)}, Code: code,
		NewPassword: "violet tractor 4 pebble lantern", IP: clientIP, AcceptLanguage: "it"}); err != nil {
		t.Fatalf("ResetWithCode: %v", err)
	}
	h.later()
	if err := h.svc.RequestLink(t.Context(), LinkRequest{Email: mustEmail(alice.Email), IP: clientIP, AcceptLanguage: "de-AT"}); err != nil {
		t.Fatalf("RequestLink: %v", err)
	}
	mails := h.mail.all()
	want := []struct{ kind, accept string }{{"code", accept}, {"changed", "it"}, {"link", "de-AT"}}
	if len(mails) != len(want) {
		t.Fatalf("mails %+v, want %d", mails, len(want))
	}
	for i, w := range want {
		if m := mails[i]; m.Kind != w.kind || m.Language != "de" || m.AcceptLanguage != w.accept {
			t.Errorf("mail %d: %s, language %q, Accept-Language %q; want %s, de, %q", i, m.Kind, m.Language, m.AcceptLanguage, w.kind, w.accept)
		}
	}
}
