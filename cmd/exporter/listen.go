package main

import (
	"errors"
	"log/slog"
	"net"
	"net/url"
	"slices"
	"strconv"
	"strings"

	"github.com/coreos/go-systemd/v22/activation"
	"github.com/mdlayher/vsock"
	"github.com/prometheus/exporter-toolkit/web"
)

// listen opens the listeners that --web.listen-address (repeatable, TCP or
// vsock://) or --web.systemd-socket name, as exporter-toolkit's
// web.ListenAndServe does, so that they can be wrapped before web.Serve
// adds TLS and basic auth.
func listen(flags *web.FlagConfig, logger *slog.Logger) ([]net.Listener, error) {
	if flags.WebSystemdSocket != nil && *flags.WebSystemdSocket {
		logger.Info("Listening on systemd activated listeners instead of port listeners.")
		listeners, err := activation.Listeners()
		if err != nil {
			return nil, err
		}
		// nil: a passed descriptor that is no listener
		listeners = slices.DeleteFunc(listeners, func(l net.Listener) bool { return l == nil })
		if len(listeners) == 0 {
			return nil, errors.New("no socket activation file descriptors found")
		}
		return listeners, nil
	}
	if flags.WebListenAddresses == nil || len(*flags.WebListenAddresses) == 0 {
		return nil, web.ErrNoListeners
	}
	var listeners []net.Listener
	for _, address := range *flags.WebListenAddresses {
		l, err := listenOn(address)
		if err != nil {
			for _, l := range listeners {
				l.Close()
			}
			return nil, err
		}
		listeners = append(listeners, l)
	}
	return listeners, nil
}

func listenOn(address string) (net.Listener, error) {
	if !strings.HasPrefix(address, "vsock://") {
		return net.Listen("tcp", address)
	}
	u, err := url.Parse(address)
	if err != nil {
		return nil, err
	}
	_, port, err := net.SplitHostPort(u.Host)
	if err != nil {
		return nil, err
	}
	p, err := strconv.ParseUint(port, 10, 32)
	if err != nil {
		return nil, err
	}
	return vsock.Listen(uint32(p), nil)
}
