package metrics

import (
	"testing"
)

// TestParseReadsBackWhatFlushWrote adds a known set of counts and checks that
// Parse recovers each one, with its dimensions, from Flush's output.
func TestParseReadsBackWhatFlushWrote(t *testing.T) {
	type counted struct{ metric, dimension, value string }
	added := map[counted]int64{
		{MailSent, "", ""}:                   3,
		{WrongGuess, "", ""}:                 1,
		{RateLimited, Scope, "IP"}:           2,
		{RateLimited, Scope, "Account"}:      1,
		{ResetCompleted, Channel, "Code"}:    1,
		{PasswordRejected, Reason, "Common"}: 4,
	}
	var r Recorder
	for c, n := range added {
		for range n {
			if c.dimension == "" {
				r.Add(c.metric)
			} else {
				r.AddWith(c.metric, c.dimension, c.value)
			}
		}
	}

	got := map[counted]int64{}
	for _, line := range flushLines(t, &r, "ResetWithCode") {
		doc, ok := Parse([]byte(line))
		if !ok {
			t.Fatalf("Parse(%s): not a document", line)
		}
		if doc.Dimensions[Flow] != "ResetWithCode" {
			t.Errorf("Parse(%s): got Flow %q, want ResetWithCode", line, doc.Dimensions[Flow])
		}
		dimension, value := "", ""
		for key, v := range doc.Dimensions {
			if key != Flow {
				dimension, value = key, v
			}
		}
		for name, n := range doc.Counts {
			got[counted{name, dimension, value}] += n
		}
	}
	if !mapsEqual(got, added) {
		t.Errorf("Parse(Flush()): got %v, want %v", got, added)
	}
}

func TestParseRejectsOtherLines(t *testing.T) {
	tests := []struct {
		name string
		line string
	}{
		{"empty", ""},
		{"text log", "2024-01-01T00:00:00Z INFO reset requested"},
		{"JSON log", `{"level":"info","msg":"reset requested"}`},
		{"broken JSON", `{"_aws":`},
		{"another namespace", specExample},
		{"_aws not an object", `{"_aws":1}`},
		{"dimension missing", `{"_aws":{"Timestamp":1,"CloudWatchMetrics":[{"Namespace":"passreset","Dimensions":[["Flow"]],"Metrics":[]}]}}`},
		{"dimension null", `{"Flow":null,"_aws":{"Timestamp":1,"CloudWatchMetrics":[{"Namespace":"passreset","Dimensions":[["Flow"]],"Metrics":[]}]}}`},
		{"metric missing", `{"Flow":"CheckLink","_aws":{"Timestamp":1,"CloudWatchMetrics":[{"Namespace":"passreset","Dimensions":[["Flow"]],"Metrics":[{"Name":"MailSent"}]}]}}`},
		{"metric a string", `{"Flow":"CheckLink","MailSent":"1","_aws":{"Timestamp":1,"CloudWatchMetrics":[{"Namespace":"passreset","Dimensions":[["Flow"]],"Metrics":[{"Name":"MailSent"}]}]}}`},
		{"metric a fraction", `{"Flow":"CheckLink","MailSent":1.5,"_aws":{"Timestamp":1,"CloudWatchMetrics":[{"Namespace":"passreset","Dimensions":[["Flow"]],"Metrics":[{"Name":"MailSent"}]}]}}`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if doc, ok := Parse([]byte(tt.line)); ok {
				t.Errorf("Parse(%q): got %+v, true; want false", tt.line, doc)
			}
		})
	}
}

func TestParseAcceptsALineWithItsNewline(t *testing.T) {
	line := `{"Flow":"CheckLink","MailSent":7,"_aws":{"Timestamp":1,"CloudWatchMetrics":[{"Namespace":"passreset","Dimensions":[["Flow"],[]],"Metrics":[{"Name":"MailSent","Unit":"Count"}]}]}}` + "\r\n"
	doc, ok := Parse([]byte(line))
	if !ok || doc.Counts[MailSent] != 7 || doc.Dimensions[Flow] != "CheckLink" {
		t.Errorf("Parse(%q): got %+v, %v; want MailSent 7, Flow CheckLink, true", line, doc, ok)
	}
}
