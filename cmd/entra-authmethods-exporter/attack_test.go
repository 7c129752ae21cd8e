package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/entra-authmethods-exporter/entra-authmethods-exporter/internal/httpattack"
	"github.com/entra-authmethods-exporter/entra-authmethods-exporter/internal/testenv"
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
		// Milliseconds when measured; a second is far beyond a busy
		// machine's noise and far below a scrape timeout.
		if took > time.Second {
			t.Errorf("scrape %d under attack took %v, want under 1 s", i, took)
		}
	}
	if !strings.Contains(e.log.String(), "connection cap reached") {
		t.Error("the connection cap was never reached")
	}
	t.Logf("exited %v after SIGTERM with the attack attached", e.stop(t).Round(time.Millisecond))
}

// The second round of attacks, each from 127.0.0.2 while Prometheus and the
// kubelet scrape and probe from 127.0.0.1.
func TestSecondRoundAttacks(t *testing.T) {
	attacker := net.ParseIP("127.0.0.2")
	if c, err := net.DialTCP("tcp", &net.TCPAddr{IP: attacker}, &net.TCPAddr{IP: net.IPv4(127, 0, 0, 1), Port: 9}); err == nil {
		c.Close()
	} else if !errors.Is(err, syscall.ECONNREFUSED) {
		t.Fatalf("this machine cannot connect from %s: %v", attacker, err)
	}

	// 514 connections from one address, each a GET /-/healthy announcing a
	// body of 100,000 bytes sent a byte every 5 s: the keep-alive scraper
	// and fresh health probes from another address all succeed.
	t.Run("slow bodies from one address", func(t *testing.T) {
		e := start(t, nil, "--demo")
		target, _ := httpattack.NewTarget("http://"+e.addr+"/-/healthy", false)
		target.Source = attacker
		ctx, cancel := context.WithCancel(context.Background())
		defer func() { cancel(); target.Wait() }()
		cs := target.SlowBody(ctx, 514, 64, "/-/healthy", 5*time.Second)
		time.Sleep(time.Second)
		scraper := &http.Client{Timeout: 5 * time.Second}
		defer scraper.CloseIdleConnections()
		probe := &http.Client{Timeout: 5 * time.Second, Transport: &http.Transport{DisableKeepAlives: true}}
		for i := range 6 {
			if err := get(scraper, "http://"+e.addr+"/metrics", "entra_authmethods_report_up"); err != nil {
				t.Errorf("keep-alive scrape %d: %v", i, err)
			}
			if err := get(probe, "http://"+e.addr+"/-/healthy", "Healthy"); err != nil {
				t.Errorf("health probe %d: %v", i, err)
			}
			time.Sleep(time.Second)
		}
		t.Logf("attack: %d connections open now, %d closed by the exporter, %d could not connect",
			cs.Open.Load(), cs.Dropped.Load(), cs.Failed.Load())
		e.stop(t)
	})

	// 16 workers asking for filtered or protobuf responses, which gather
	// every metric, as fast as they are answered: no text scrape gets 503.
	t.Run("filtered and protobuf requests", func(t *testing.T) {
		e := start(t, nil, "--demo")
		filtered, _ := httpattack.NewTarget("http://"+e.addr+"/metrics?name[]=entra_authmethods_report_up", false)
		protobuf, _ := httpattack.NewTarget("http://"+e.addr+"/metrics", false)
		filtered.Source, protobuf.Source = attacker, attacker
		ctx, cancel := context.WithCancel(context.Background())
		defer func() { cancel(); filtered.Wait(); protobuf.Wait() }()
		a := filtered.Flood(ctx, 8, nil)
		b := protobuf.Flood(ctx, 8, http.Header{"Accept": {"application/vnd.google.protobuf;proto=io.prometheus.client.MetricFamily;encoding=delimited"}})
		scraper := &http.Client{Timeout: 5 * time.Second}
		defer scraper.CloseIdleConnections()
		failed := 0
		for i := range 40 {
			if err := get(scraper, "http://"+e.addr+"/metrics", "entra_authmethods_report_up"); err != nil {
				failed++
				t.Errorf("scrape %d: %v", i, err)
			}
			time.Sleep(250 * time.Millisecond)
		}
		t.Logf("40 scrapes, %d failed, while the attack had %d requests answered", failed, a.Answered.Load()+b.Answered.Load())
	})

	// A FIFO as the secret file: the check, a reload and SIGTERM each end
	// within 5 s.
	t.Run("a FIFO as the secret file", func(t *testing.T) {
		dir := t.TempDir()
		cfg, cfgFile, env := oneFakeTenant(t, dir)
		fifo := filepath.Join(dir, "secret")
		if err := syscall.Mkfifo(fifo, 0o600); err != nil {
			t.Fatal(err)
		}
		withFIFO := strings.Replace(cfg, "client_secret: reload-secret-value", "client_secret_file: "+fifo, 1)
		fifoFile := filepath.Join(dir, "fifo.yaml")
		os.WriteFile(fifoFile, []byte(withFIFO), 0o600)
		bin, err := binary()
		if err != nil {
			t.Fatal(err)
		}
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		began := time.Now()
		out, err := exec.CommandContext(ctx, bin, "--config.file="+fifoFile, "--config.allow-custom-endpoints", "--config.check").CombinedOutput()
		var exit *exec.ExitError
		if !errors.As(err, &exit) || exit.ExitCode() != 1 || !strings.Contains(string(out), "not a regular file") {
			t.Errorf("--config.check with a FIFO secret, after %v: %v\n%s", time.Since(began), err, out)
		}
		t.Logf("--config.check refused the FIFO secret in %v", time.Since(began).Round(time.Millisecond))

		e := start(t, env, "--config.file="+cfgFile, "--config.allow-custom-endpoints", "--web.enable-lifecycle")
		os.WriteFile(cfgFile, []byte(withFIFO), 0o600)
		reload := &http.Client{Timeout: 5 * time.Second}
		began = time.Now()
		resp, err := reload.Post("http://"+e.addr+"/-/reload", "", nil)
		if err != nil {
			t.Fatalf("POST /-/reload with a FIFO secret: %v", err)
		}
		resp.Body.Close()
		t.Logf("POST /-/reload with the FIFO secret answered %s in %v", resp.Status, time.Since(began).Round(time.Millisecond))
		if resp.StatusCode != http.StatusInternalServerError {
			t.Errorf("POST /-/reload with a FIFO secret: %s, want 500", resp.Status)
		}
		e.cmd.Process.Signal(syscall.SIGHUP)
		if err := get(reload, "http://"+e.addr+"/metrics", `entra_authmethods_report_up{report="user_registration_details",tenant="one"} 1`); err != nil {
			t.Errorf("the running configuration after the refused reload: %v", err)
		}
		t.Logf("exited %v after SIGTERM", e.stop(t).Round(time.Millisecond))
	})

	// A 25 KB file of one tenant with many unknown keys aliased many times.
	t.Run("a YAML alias bomb", func(t *testing.T) {
		var b strings.Builder
		b.WriteString("defaults: &t\n")
		for i := range 200 {
			fmt.Fprintf(&b, "  k%d: 1\n", i)
		}
		b.WriteString("tenants:\n")
		for b.Len() < 25_000 {
			b.WriteString("  - *t\n")
		}
		file := filepath.Join(t.TempDir(), "bomb.yaml")
		os.WriteFile(file, []byte(b.String()), 0o600)
		bin, err := binary()
		if err != nil {
			t.Fatal(err)
		}
		// Peak RSS by GNU time, which forks its own small child: the kernel
		// counts the memory of this (race-built, large) test process in the
		// peak of a process it starts directly, until that process execs.
		timeTool := testenv.Tool(t, "time")
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		cmd := exec.CommandContext(ctx, timeTool, "-f", "maxrss_kib=%M", bin, "--config.file="+file, "--config.check")
		began := time.Now()
		out, err := cmd.CombinedOutput()
		took := time.Since(began)
		var exit *exec.ExitError
		if !errors.As(err, &exit) || exit.ExitCode() != 1 {
			t.Errorf("--config.check of the alias bomb: %v\n%.2000s", err, out)
		}
		if lines := strings.Count(string(out), "\n"); lines > 110 {
			t.Errorf("%d lines of problems, want at most about 100", lines)
		}
		_, kib, _ := strings.Cut(string(out), "maxrss_kib=")
		rss, err := strconv.Atoi(strings.TrimSpace(kib))
		if err != nil {
			t.Fatalf("no peak RSS from time: %q", out)
		}
		t.Logf("%d-byte alias bomb refused in %v, peak RSS %d MiB", b.Len(), took.Round(time.Millisecond), rss>>10)
		if took > 3*time.Second || rss > 150<<10 {
			t.Errorf("refused in %v with a peak RSS of %d MiB: want within 3 s and under 150 MiB", took, rss>>10)
		}
	})
}

// get fetches url with c and checks that it answers 200 with want in the body.
func get(c *http.Client, url, want string) error {
	resp, err := c.Get(url)
	if err != nil {
		return err
	}
	body, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	switch {
	case err != nil:
		return err
	case resp.StatusCode != http.StatusOK:
		return fmt.Errorf("%s: %.200s", resp.Status, body)
	case !strings.Contains(string(body), want):
		return fmt.Errorf("no %q in the answer", want)
	}
	return nil
}
