package emulator

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	dbtypes "github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/aws/aws-sdk-go-v2/service/sesv2"
	sestypes "github.com/aws/aws-sdk-go-v2/service/sesv2/types"
)

func TestMain(m *testing.M) { os.Exit(Run(m)) }

var localCredentials = credentials.NewStaticCredentialsProvider("local", "local", "")

func TestDynamoDB(t *testing.T) {
	stack := Need(t)
	ctx := context.Background()
	db := dynamodb.New(dynamodb.Options{
		Region:       "us-east-1",
		Credentials:  localCredentials,
		BaseEndpoint: aws.String(stack.DynamoDBEndpoint),
	})

	table := "emulator-test"
	if _, err := db.CreateTable(ctx, &dynamodb.CreateTableInput{
		TableName:            aws.String(table),
		AttributeDefinitions: []dbtypes.AttributeDefinition{{AttributeName: aws.String("pk"), AttributeType: dbtypes.ScalarAttributeTypeS}},
		KeySchema:            []dbtypes.KeySchemaElement{{AttributeName: aws.String("pk"), KeyType: dbtypes.KeyTypeHash}},
		BillingMode:          dbtypes.BillingModePayPerRequest,
	}); err != nil {
		t.Fatalf("CreateTable: %v", err)
	}
	if _, err := db.PutItem(ctx, &dynamodb.PutItemInput{
		TableName: aws.String(table),
		Item: map[string]dbtypes.AttributeValue{
			"pk":    &dbtypes.AttributeValueMemberS{Value: "user#1"},
			"email": &dbtypes.AttributeValueMemberS{Value: "ada@example.com"},
		},
	}); err != nil {
		t.Fatalf("PutItem: %v", err)
	}
	out, err := db.GetItem(ctx, &dynamodb.GetItemInput{
		TableName:      aws.String(table),
		Key:            map[string]dbtypes.AttributeValue{"pk": &dbtypes.AttributeValueMemberS{Value: "user#1"}},
		ConsistentRead: aws.Bool(true),
	})
	if err != nil {
		t.Fatalf("GetItem: %v", err)
	}
	email, ok := out.Item["email"].(*dbtypes.AttributeValueMemberS)
	if !ok || email.Value != "ada@example.com" {
		t.Errorf("GetItem email = %#v, want ada@example.com", out.Item["email"])
	}
}

func TestMails(t *testing.T) {
	stack := Need(t)
	ctx := context.Background()
	ses := sesv2.New(sesv2.Options{
		Region:       "us-east-1",
		Credentials:  localCredentials,
		BaseEndpoint: aws.String(stack.SESEndpoint),
	})
	if err := stack.ClearMails(ctx); err != nil {
		t.Fatalf("ClearMails: %v", err)
	}

	send := func(to, subject, text, html string) {
		t.Helper()
		body := &sestypes.Body{}
		if text != "" {
			body.Text = &sestypes.Content{Data: aws.String(text), Charset: aws.String("UTF-8")}
		}
		if html != "" {
			body.Html = &sestypes.Content{Data: aws.String(html), Charset: aws.String("UTF-8")}
		}
		if _, err := ses.SendEmail(ctx, &sesv2.SendEmailInput{
			FromEmailAddress: aws.String("no-reply@passreset.test"),
			Destination:      &sestypes.Destination{ToAddresses: []string{to}},
			Content: &sestypes.EmailContent{Simple: &sestypes.Message{
				Subject: &sestypes.Content{Data: aws.String(subject)},
				Body:    body,
			}},
		}); err != nil {
			t.Fatalf("SendEmail to %s: %v", to, err)
		}
	}
	before := time.Now().Truncate(time.Second)
	send("ada@example.com", "Your code", "Code: 123456", "<p>Code: <b>123456</b></p>")
	send("bob@example.com", "Text only", "just text", "")

	mails, err := stack.Mails(ctx)
	if err != nil {
		t.Fatalf("Mails: %v", err)
	}
	want := []Mail{
		{From: "no-reply@passreset.test", To: []string{"ada@example.com"}, Subject: "Your code", Text: "Code: 123456", HTML: "<p>Code: <b>123456</b></p>"},
		{From: "no-reply@passreset.test", To: []string{"bob@example.com"}, Subject: "Text only", Text: "just text"},
	}
	if len(mails) != len(want) {
		t.Fatalf("Mails returned %d mails, want %d: %+v", len(mails), len(want), mails)
	}
	for i, got := range mails {
		w := want[i]
		if got.From != w.From || strings.Join(got.To, ",") != strings.Join(w.To, ",") ||
			got.Subject != w.Subject || got.Text != w.Text || got.HTML != w.HTML {
			t.Errorf("mail %d = %+v, want %+v", i, got, w)
		}
		if got.At.Before(before) || got.At.After(time.Now()) {
			t.Errorf("mail %d At = %v, want between %v and now", i, got.At, before)
		}
	}

	// Mails reads only what is new, in the same second or later: each
	// mail once, in order.
	send("cy@example.com", "Third", "three", "")
	mails, err = stack.Mails(ctx)
	if err != nil || len(mails) != 3 || mails[2].Subject != "Third" || mails[0].Subject != "Your code" {
		t.Fatalf("Mails after a third send = %+v, %v; want the three in order", mails, err)
	}
	if again, err := stack.Mails(ctx); err != nil || len(again) != 3 {
		t.Errorf("Mails read again = %d mails, %v; want the same 3", len(again), err)
	}

	if err := stack.ClearMails(ctx); err != nil {
		t.Fatalf("ClearMails: %v", err)
	}
	if mails, err := stack.Mails(ctx); err != nil || len(mails) != 0 {
		t.Errorf("Mails after ClearMails = %+v, %v; want none", mails, err)
	}
	send("dee@example.com", "After", "after", "")
	if mails, err := stack.Mails(ctx); err != nil || len(mails) != 1 || mails[0].Subject != "After" {
		t.Errorf("Mails after a clear and a send = %+v, %v; want the one", mails, err)
	}
}

// TestStartStop starts a stack of its own, so it can watch Stop end it.
func TestStartStop(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a second JVM")
	}
	Need(t) // skip like the others when the emulators cannot start
	began := time.Now()
	stack, err := Start(context.Background(), Options{})
	if err != nil {
		t.Fatalf("Start: %v", err)
	}
	t.Logf("stack started in %s: %s %s", time.Since(began).Round(time.Millisecond), stack.DynamoDBEndpoint, stack.SESEndpoint)

	addrs := []string{hostPort(t, stack.DynamoDBEndpoint), hostPort(t, stack.SESEndpoint)}
	for _, addr := range addrs {
		if !listening(addr) {
			t.Errorf("nothing listening on %s after Start", addr)
		}
	}
	if err := stack.Stop(); err != nil {
		t.Fatalf("Stop: %v", err)
	}
	for _, addr := range addrs {
		if listening(addr) {
			t.Errorf("something still listening on %s after Stop", addr)
		}
	}
	for _, p := range stack.procs {
		if err := syscall.Kill(-p.proc.Pid(), 0); !errors.Is(err, syscall.ESRCH) {
			t.Errorf("process group %d after Stop: kill 0 = %v, want ESRCH", p.proc.Pid(), err)
		}
	}
	if err := stack.Stop(); err != nil {
		t.Errorf("second Stop: %v", err)
	}
}

func TestStartErrors(t *testing.T) {
	root, err := findRepoRoot()
	if err != nil {
		t.Fatal(err)
	}
	java, errJava := exec.LookPath("java")
	if errJava != nil {
		t.Skip("java not on PATH")
	}
	onlyJava := t.TempDir()
	if err := os.Symlink(java, filepath.Join(onlyJava, "java")); err != nil {
		t.Fatal(err)
	}

	tests := []struct {
		name string
		root string
		path string // PATH for the call; "" leaves it alone
		want string
	}{
		{name: "no node_modules", root: t.TempDir(), want: "run npm ci"},
		{name: "no java", root: root, path: t.TempDir(), want: "install Java 17+"},
		{name: "no node", root: root, path: onlyJava, want: "install Node 20+"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if tt.path != "" {
				t.Setenv("PATH", tt.path)
			}
			stack, err := Start(context.Background(), Options{RepoRoot: tt.root})
			if err == nil {
				stack.Stop()
				t.Fatalf("Start(RepoRoot %s, PATH %q) succeeded, want an error containing %q", tt.root, tt.path, tt.want)
			}
			if !strings.Contains(err.Error(), tt.want) {
				t.Errorf("Start(RepoRoot %s, PATH %q) = %q, want it to contain %q", tt.root, tt.path, err, tt.want)
			}
		})
	}
}

// TestStartPortTaken asks for a port that is in use.
func TestStartPortTaken(t *testing.T) {
	Need(t) // skip like the others when the emulators cannot start
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	port := l.Addr().(*net.TCPAddr).Port

	stack, err := Start(context.Background(), Options{SESPort: port})
	if err == nil {
		stack.Stop()
		t.Fatalf("Start with SES port %d taken succeeded, want an error", port)
	}
	want := fmt.Sprintf("emulator: port %d for the SES emulator: ", port)
	if !strings.Contains(err.Error(), want) {
		t.Errorf("Start with SES port %d taken = %q, want it to contain %q", port, err, want)
	}
	if strings.Contains(err.Error(), "DynamoDB") {
		t.Errorf("Start with SES port %d taken = %q, want no word of DynamoDB Local, which it cancelled", port, err)
	}
}

// TestLaunchExitedEarly runs stand-ins that die before answering: the
// error must carry what they printed, and a death by a taken port must
// be retried on another.
func TestLaunchExitedEarly(t *testing.T) {
	tests := []struct {
		name     string
		script   string
		port     int
		wantRuns int
		want     []string
	}{
		{
			name:     "crash",
			script:   "echo starting; echo boom >&2; exit 3",
			wantRuns: 1,
			want:     []string{"emulator: fake exited before it was ready (exit status 3)", "\tstarting\n\tboom"},
		},
		{
			name:     "port taken, picked here",
			script:   "echo Error: listen EADDRINUSE >&2; exit 1",
			wantRuns: 3,
			want:     []string{"exited before it was ready", "EADDRINUSE"},
		},
		{
			name:     "port taken, asked for",
			script:   "echo Error: listen EADDRINUSE >&2; exit 1",
			port:     freePortForTest(t),
			wantRuns: 1,
			want:     []string{"exited before it was ready", "EADDRINUSE"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			runs := 0
			fake := emulatorCommand{
				name:  "fake",
				args:  func(int) []string { runs++; return []string{"/bin/sh", "-c", tt.script} },
				ready: func(context.Context, string) bool { return false },
			}
			_, err := launch(context.Background(), fake, tt.port, io.Discard)
			if err == nil {
				t.Fatalf("launch(%q) succeeded, want an error", tt.script)
			}
			for _, want := range tt.want {
				if !strings.Contains(err.Error(), want) {
					t.Errorf("launch(%q) = %q, want it to contain %q", tt.script, err, want)
				}
			}
			if runs != tt.wantRuns {
				t.Errorf("launch(%q) ran it %d times, want %d", tt.script, runs, tt.wantRuns)
			}
		})
	}
}

func TestTailBuffer(t *testing.T) {
	many := strings.Repeat("x\n", tailLines) + "last\n"
	tests := []struct {
		name   string
		writes []string
		want   string
	}{
		{name: "empty", want: ""},
		{name: "lines", writes: []string{"a\nb\n"}, want: "a\nb"},
		{name: "split line", writes: []string{"hel", "lo\nwor", "ld"}, want: "hello\nworld"},
		{name: "crlf", writes: []string{"a\r\n"}, want: "a"},
		{name: "keeps the last", writes: []string{"first\n", many}, want: strings.Repeat("x\n", tailLines-1) + "last"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var b tailBuffer
			for _, w := range tt.writes {
				b.Write([]byte(w))
			}
			if got := b.String(); got != tt.want {
				t.Errorf("after writes %q: got %q, want %q", tt.writes, got, tt.want)
			}
		})
	}
}

func hostPort(t *testing.T, endpoint string) string {
	t.Helper()
	u, err := url.Parse(endpoint)
	if err != nil {
		t.Fatalf("endpoint %q: %v", endpoint, err)
	}
	return u.Host
}

func freePortForTest(t *testing.T) int {
	t.Helper()
	port, err := freePort()
	if err != nil {
		t.Fatal(err)
	}
	return port
}

func listening(addr string) bool {
	c, err := net.DialTimeout("tcp", addr, time.Second)
	if err != nil {
		return false
	}
	c.Close()
	return true
}
