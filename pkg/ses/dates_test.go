package ses

import (
	"testing"
	"time"
)

// TestDateTime: the moment a password changed as each language writes a
// time: French "14 h 05" (with no-break spaces, so the line never breaks
// inside it), Spanish "a la" for the one o'clock hour and "a las" for
// the others.
func TestDateTime(t *testing.T) {
	for _, tt := range []struct {
		lang string
		at   time.Time
		want string
	}{
		{"en", time.Date(2025, 3, 4, 14, 5, 0, 0, time.UTC), "4 March 2025 at 14:05 UTC"},
		{"de", time.Date(2025, 3, 4, 14, 5, 0, 0, time.UTC), "4. März 2025 um 14:05 Uhr (UTC)"},
		{"fr", time.Date(2025, 3, 4, 14, 5, 0, 0, time.UTC), "4 mars 2025 à 14\u00a0h\u00a005 (UTC)"},
		{"fr", time.Date(2025, 3, 4, 5, 6, 0, 0, time.UTC), "4 mars 2025 à 5\u00a0h\u00a006 (UTC)"},
		{"fr", time.Date(2025, 3, 4, 0, 30, 0, 0, time.UTC), "4 mars 2025 à 0\u00a0h\u00a030 (UTC)"},
		{"es", time.Date(2025, 3, 4, 14, 5, 0, 0, time.UTC), "4 de marzo de 2025 a las 14:05 (UTC)"},
		{"es", time.Date(2025, 3, 4, 1, 5, 0, 0, time.UTC), "4 de marzo de 2025 a la 1:05 (UTC)"},
		{"es", time.Date(2025, 3, 4, 13, 5, 0, 0, time.UTC), "4 de marzo de 2025 a las 13:05 (UTC)"},
		{"es", time.Date(2025, 3, 4, 0, 30, 0, 0, time.UTC), "4 de marzo de 2025 a las 0:30 (UTC)"},
		{"es", time.Date(2025, 3, 4, 5, 6, 0, 0, time.UTC), "4 de marzo de 2025 a las 5:06 (UTC)"},
		{"it", time.Date(2025, 3, 4, 14, 5, 0, 0, time.UTC), "2025-03-04 14:05 UTC"},
	} {
		if got := dateTime(tt.lang, tt.at); got != tt.want {
			t.Errorf("dateTime(%s, %s) = %q, want %q", tt.lang, tt.at.Format(time.RFC3339), got, tt.want)
		}
	}
}
