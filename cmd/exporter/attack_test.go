package main

import (
	"context"
	"io"
	"net/http"
	"os"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/entra-authmethods-exporter/entra-authmethods-exporter/internal/httpattack"
)

// attackNofile is the exporter's file descriptor limit in the attack test:
// far fewer than the idle connections, which without the connection cap
// would take every descriptor.
const attackNofile = 1024

// Slow readers and thousands of idle connections attached, /metrics still
// answers, and SIGTERM still ends the exporter within 5 s.
// ATTACK_IDLE_CONNS sets the idle connections (2,000; 20,000 for a manual
// run), as many as this process's own descriptor limit allows.
func TestScrapesUnderAttack(t *testing.T) {
	idle := 2000
	if v := os.Getenv("ATTACK_IDLE_CONNS"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil {
			t.Fatalf("ATTACK_IDLE_CONNS: %v", err)
		}
		idle = n
	}
	var rl syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_NOFILE, &rl); err == nil && idle > int(rl.Cur)-300 {
		t.Logf("%d idle connections asked for; this process may open %d files, so %d", idle, rl.Cur, int(rl.Cur)-300)
		idle = int(rl.Cur) - 300
	}
	e := launchWith(t, nil, []string{"sh", "-c", `ulimit -n ` + strconv.Itoa(attackNofile) + ` && exec "$0" "$@"`}, "--demo")
	e.waitReady(t)

	target, err := httpattack.NewTarget("http://"+e.addr+"/metrics", false)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer func() { cancel(); target.Wait() }()
	// Each slow reader pipelines enough scrapes to fill the socket buffers,
	// so the exporter's write stalls mid-response.
	slow := target.Slow(ctx, 12, 100, time.Second)
	held := target.Idle(ctx, idle, 64, "/-/healthy", 0)
	time.Sleep(time.Second) // the exporter accepts the last of them
	t.Logf("attached: %d slow readers (%d dropped, %d failed); %d idle connections opened, %d closed by the exporter since, %d failed to connect",
		slow.Open.Load(), slow.Dropped.Load(), slow.Failed.Load(), idle-int(held.Failed.Load()), held.Dropped.Load(), held.Failed.Load())
	if slow.Open.Load() < 10 {
		t.Errorf("only %d slow readers attached", slow.Open.Load())
	}

	client := &http.Client{Timeout: 5 * time.Second}
	defer client.CloseIdleConnections()
	for i := range 3 {
		start := time.Now()
		resp, err := client.Get("http://" + e.addr + "/metrics")
		if err != nil {
			t.Fatalf("scrape %d under attack: %v", i, err)
		}
		body, err := io.ReadAll(resp.Body)
		resp.Body.Close()
		took := time.Since(start)
		if err != nil || resp.StatusCode != 200 || !strings.Contains(string(body), "entra_authmethods_report_up") {
			t.Fatalf("scrape %d under attack: %d, %v, %d bytes", i, resp.StatusCode, err, len(body))
		}
		t.Logf("scrape %d under attack: %v, %d bytes", i, took.Round(time.Millisecond), len(body))
	}
	if !strings.Contains(e.log.String(), "connection cap reached") {
		t.Error("the connection cap was never reached")
	}
	t.Logf("exited %v after SIGTERM with the attack attached", e.stop(t).Round(time.Millisecond))
}
