package main

import (
	"errors"
	"log/slog"
	"net"
	"testing"

	"github.com/prometheus/exporter-toolkit/web"
)

func TestListenOnEveryAddress(t *testing.T) {
	no := false
	empty := ""
	addrs := []string{"127.0.0.1:0", "127.0.0.1:0"}
	flags := &web.FlagConfig{WebListenAddresses: &addrs, WebSystemdSocket: &no, WebConfigFile: &empty}
	ls, err := listen(flags, slog.New(slog.DiscardHandler))
	if err != nil || len(ls) != 2 {
		t.Fatalf("listen: %d listeners, %v", len(ls), err)
	}
	for _, l := range ls {
		c, err := net.Dial("tcp", l.Addr().String())
		if err != nil {
			t.Error(err)
			continue
		}
		c.Close()
		l.Close()
	}

	bad := []string{"127.0.0.1:0", "127.0.0.1:notaport"}
	flags.WebListenAddresses = &bad
	if _, err := listen(flags, slog.New(slog.DiscardHandler)); err == nil {
		t.Error("a bad address was accepted")
	}
	if _, err := listen(&web.FlagConfig{WebListenAddresses: &[]string{}, WebSystemdSocket: &no}, nil); !errors.Is(err, web.ErrNoListeners) {
		t.Errorf("no address: %v, want %v", err, web.ErrNoListeners)
	}
	bad = []string{"vsock://:notaport"}
	if _, err := listen(flags, slog.New(slog.DiscardHandler)); err == nil {
		t.Error("a bad vsock address was accepted")
	}
}
