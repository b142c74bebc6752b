package main

import (
	"bufio"
	"crypto/sha1"
	"encoding/base64"
	"encoding/binary"
	"errors"
	"io"
	"net/http"
	"strings"
)

// The stand-in's /_stcore/stream is a minimal RFC 6455 echo server. Streamlit
// keeps each browser session on one websocket at that path, so tests use it
// to prove the agent's reverse proxy passes upgrades through. It is test
// tooling: no extensions, no fragment reassembly (fragments are echoed as
// they come), frames capped at maxFrame bytes.

const (
	websocketGUID = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"
	maxFrame      = 16 << 20

	opContinuation = 0x0
	opText         = 0x1
	opBinary       = 0x2
	opClose        = 0x8
	opPing         = 0x9
	opPong         = 0xA
)

// websocketAccept computes Sec-WebSocket-Accept for a client's key.
func websocketAccept(key string) string {
	h := sha1.Sum([]byte(key + websocketGUID))
	return base64.StdEncoding.EncodeToString(h[:])
}

func headerHasToken(h http.Header, name, token string) bool {
	for _, v := range h.Values(name) {
		for _, t := range strings.Split(v, ",") {
			if strings.EqualFold(strings.TrimSpace(t), token) {
				return true
			}
		}
	}
	return false
}

func (s *standinServer) serveWebsocket(w http.ResponseWriter, r *http.Request) {
	key := r.Header.Get("Sec-WebSocket-Key")
	if r.Method != http.MethodGet || !headerHasToken(r.Header, "Upgrade", "websocket") ||
		!headerHasToken(r.Header, "Connection", "upgrade") || key == "" {
		// Tornado, which streamlit runs on, answers a plain GET this way.
		http.Error(w, `Can "Upgrade" only to "WebSocket".`, http.StatusBadRequest)
		return
	}
	if v := r.Header.Get("Sec-WebSocket-Version"); v != "13" {
		w.Header().Set("Sec-WebSocket-Version", "13")
		http.Error(w, "unsupported websocket version", http.StatusUpgradeRequired)
		return
	}
	hj, ok := w.(http.Hijacker)
	if !ok {
		http.Error(w, "cannot hijack connection", http.StatusInternalServerError)
		return
	}
	conn, brw, err := hj.Hijack()
	if err != nil {
		return
	}
	s.mu.Lock()
	s.wss[conn] = struct{}{}
	s.mu.Unlock()
	defer func() {
		s.mu.Lock()
		delete(s.wss, conn)
		s.mu.Unlock()
		conn.Close()
	}()

	resp := "HTTP/1.1 101 Switching Protocols\r\n" +
		"Upgrade: websocket\r\n" +
		"Connection: Upgrade\r\n" +
		"Sec-WebSocket-Accept: " + websocketAccept(key) + "\r\n"
	if protos := r.Header.Get("Sec-WebSocket-Protocol"); protos != "" {
		// Streamlit's frontend offers subprotocols; pick the first, as
		// streamlit does.
		resp += "Sec-WebSocket-Protocol: " + strings.TrimSpace(strings.Split(protos, ",")[0]) + "\r\n"
	}
	resp += "\r\n"
	if _, err := brw.WriteString(resp); err != nil {
		return
	}
	if err := brw.Flush(); err != nil {
		return
	}
	echoFrames(brw.Reader, conn)
}

// closeWebsockets ends every open session at shutdown: http.Server.Shutdown
// does not track hijacked connections.
func (s *standinServer) closeWebsockets() {
	s.mu.Lock()
	defer s.mu.Unlock()
	for c := range s.wss {
		c.Close()
	}
}

// echoFrames sends every data frame back unmasked, answers pings, and
// completes the closing handshake.
func echoFrames(r *bufio.Reader, w io.Writer) {
	for {
		fin, op, payload, err := readFrame(r)
		if err != nil {
			if errors.Is(err, errFrameTooBig) {
				writeFrame(w, true, opClose, closePayload(1009))
			}
			return
		}
		switch op {
		case opClose:
			writeFrame(w, true, opClose, payload)
			return
		case opPing:
			if writeFrame(w, true, opPong, payload) != nil {
				return
			}
		case opPong:
		case opText, opBinary, opContinuation:
			if writeFrame(w, fin, op, payload) != nil {
				return
			}
		default:
			writeFrame(w, true, opClose, closePayload(1002))
			return
		}
	}
}

var errFrameTooBig = errors.New("websocket frame too big")

// readFrame reads one frame and unmasks its payload.
func readFrame(r *bufio.Reader) (fin bool, op byte, payload []byte, err error) {
	var hdr [2]byte
	if _, err = io.ReadFull(r, hdr[:]); err != nil {
		return
	}
	fin = hdr[0]&0x80 != 0
	op = hdr[0] & 0x0f
	masked := hdr[1]&0x80 != 0
	n := uint64(hdr[1] & 0x7f)
	switch n {
	case 126:
		var ext [2]byte
		if _, err = io.ReadFull(r, ext[:]); err != nil {
			return
		}
		n = uint64(binary.BigEndian.Uint16(ext[:]))
	case 127:
		var ext [8]byte
		if _, err = io.ReadFull(r, ext[:]); err != nil {
			return
		}
		n = binary.BigEndian.Uint64(ext[:])
	}
	if n > maxFrame {
		err = errFrameTooBig
		return
	}
	var mask [4]byte
	if masked {
		if _, err = io.ReadFull(r, mask[:]); err != nil {
			return
		}
	}
	payload = make([]byte, n)
	if _, err = io.ReadFull(r, payload); err != nil {
		return
	}
	if masked {
		for i := range payload {
			payload[i] ^= mask[i%4]
		}
	}
	return
}

// writeFrame writes one unmasked (server to client) frame.
func writeFrame(w io.Writer, fin bool, op byte, payload []byte) error {
	var hdr []byte
	b0 := op
	if fin {
		b0 |= 0x80
	}
	switch n := len(payload); {
	case n < 126:
		hdr = []byte{b0, byte(n)}
	case n <= 0xffff:
		hdr = []byte{b0, 126, 0, 0}
		binary.BigEndian.PutUint16(hdr[2:], uint16(n))
	default:
		hdr = make([]byte, 10)
		hdr[0], hdr[1] = b0, 127
		binary.BigEndian.PutUint64(hdr[2:], uint64(n))
	}
	_, err := w.Write(append(hdr, payload...))
	return err
}

func closePayload(code uint16) []byte {
	b := make([]byte, 2)
	binary.BigEndian.PutUint16(b, code)
	return b
}
