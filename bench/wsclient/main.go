// Command wsclient is the WebSocket client pool of bench/ws_fanout.py, in Go.
//
// The Python pool spends ~120 µs of CPU per frame (asyncio wake-up, frame parsing, json, datetime)
// on the same 2 cores as the server it measures; this one spends a fraction of that, so the figures
// say more about the server. Same protocol as the Python pool (bench/ws_fanout.py, run_client_pool):
//
//	wsclient <drop|show|centrifugo|auction> <url> <count> <timeout-seconds>
//
// auction: each socket reads `auction` frames (and a snapshot's auction) until the auction is no
// longer open, noting when it first saw each bid count; at the end the times the bid driver sent
// each bid are read from the JSON file WSCLIENT_SENT_LOG ({"<bid seq>": unix seconds}) and folded
// into a histogram of bid-to-watcher latency (1 ms buckets). Against the raw floor it reads its
// stock frames as drop mode does. A socket the server closes as too slow (4408) reconnects and
// takes a fresh snapshot, as a browser viewer does (counted in "reconnects").
// WSCLIENT_READY=snapshot: a socket counts as connected once its first snapshot arrived (the
// server's connect work is then done), not at the end of the handshake.
//
// centrifugo: each socket sends Centrifugo's JSON connect and subscribe commands (channel "bench")
// and reads publications whose data is a drop-mode stock frame, measured as in drop mode.
// WSCLIENT_SOURCES=n spreads the sockets over the source addresses 127.0.0.2 ... 127.0.0.(n+1)
// (each source address has its own ephemeral ports: 10,000 sockets per run never run short).
//
// prints {"ready": n} once every socket is connected (or the timeout passed), then one JSON line of
// measurements in the Python pool's shape, and exits.
package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"os"
	"strconv"
	"sync"
	"syscall"
	"time"

	"github.com/gorilla/websocket"
)

const lingerAfterFinal = 3 * time.Second // show mode: after the final state, keep reading chat this long

type sku struct {
	Available int `json:"available"`
}

type stamped struct {
	At string `json:"at"`
}

type auctionState struct {
	Bids       int    `json:"bids"`
	State      string `json:"state"`
	CurrentBid int64  `json:"current_bid"`
}

type frame struct {
	Auction     *auctionState `json:"auction"`
	Type        string        `json:"type"`
	At          string        `json:"at"`
	PublishedAt string        `json:"published_at"`
	Stream      string        `json:"stream"`
	SoldOut     bool          `json:"sold_out"`
	Skus        []sku         `json:"skus"`
	Frames      []stamped     `json:"frames"` // chat_batch
	FlashDrop   *struct {
		State string `json:"state"`
		Skus  []sku  `json:"skus"`
	} `json:"flash_drop"` // snapshot of a drop stream
}

// centrifugoReply is one reply of Centrifugo's JSON protocol; publications come as pushes.
type centrifugoReply struct {
	Push *struct {
		Pub *struct {
			Data frame `json:"data"`
		} `json:"pub"`
	} `json:"push"`
}

// result is one client process's measurements (latencies in seconds, as the Python pool reports them).
type result struct {
	Connected, Final, FinalBySnapshot, ChatBatches int
	Stock, Fanout, Chat, Launch                    []float64
	FramesDrop                                     []int        // drop mode: frames per socket
	FramesShow                                     int          // show mode: frames in all
	Closed                                         []int64      // auction mode: the closed price each socket saw
	Arrivals                                       [][2]float64 // auction mode: (bids seen, unix time)
	Reconnects                                     int
	DialRetries                                    int
	Errors                                         []string
	CPUSeconds                                     float64
}

func since(now time.Time, stamp string) (float64, bool) {
	t, err := time.Parse(time.RFC3339Nano, stamp)
	if err != nil {
		return 0, false
	}
	return now.Sub(t).Seconds(), true
}

func exhausted(skus []sku) bool {
	if len(skus) == 0 {
		return false
	}
	low := skus[0].Available
	for _, s := range skus[1:] {
		low = min(low, s.Available)
	}
	return low == 0
}

// watch reads one socket until its final state (drop) or linger (show) or the deadline.
// ready is called once the socket counts as connected (WSCLIENT_READY=snapshot: its first snapshot).
// In auction mode it returns "reconnect" when the server closed the socket as too slow (4408).
func watch(conn *websocket.Conn, mode string, deadline time.Time, mu *sync.Mutex, out *result, ready func()) string {
	var (
		local   result
		frames  int
		reached bool
		seen    int
		outcome string
	)
	stopAt := deadline
	for {
		_ = conn.SetReadDeadline(stopAt)
		_, raw, err := conn.ReadMessage()
		if err != nil {
			if websocket.IsCloseError(err, 4408) {
				outcome = "reconnect"
			}
			break
		}
		now := time.Now()
		if mode == "centrifugo" {
			done := false
			for _, line := range bytes.Split(raw, []byte("\n")) {
				var push centrifugoReply
				if json.Unmarshal(line, &push) != nil || push.Push == nil || push.Push.Pub == nil {
					continue
				}
				frames++
				if local.addStock(now, &push.Push.Pub.Data) {
					local.Final++
					done = true
					break
				}
			}
			if done {
				break
			}
			continue
		}
		var doc frame
		if json.Unmarshal(raw, &doc) != nil {
			continue
		}
		if doc.Type == "snapshot" {
			ready()
		}
		if mode == "auction" {
			frames++
			if doc.Type == "stock" { // the raw floor's frames
				if local.addStock(now, &doc) {
					local.Final++
					break
				}
				continue
			}
			if doc.Auction == nil || (doc.Type != "auction" && doc.Type != "snapshot") {
				continue
			}
			if doc.Type == "auction" && doc.Auction.State == "open" {
				if d, ok := since(now, doc.At); ok { // the frame's `at`: when the bid's transaction built it
					local.Fanout = append(local.Fanout, d)
				}
			}
			if doc.Auction.Bids > seen {
				seen = doc.Auction.Bids
				local.Arrivals = append(local.Arrivals, [2]float64{float64(seen), float64(now.UnixNano()) / 1e9})
			}
			if doc.Auction.State != "open" {
				local.Closed = append(local.Closed, doc.Auction.CurrentBid)
				break
			}
			continue
		}
		if mode == "drop" {
			if doc.Type != "stock" {
				continue
			}
			frames++
			if local.addStock(now, &doc) {
				local.Final++
				break
			}
			continue
		}
		frames++
		switch doc.Type {
		case "chat":
			if d, ok := since(now, doc.At); ok {
				local.Chat = append(local.Chat, d)
			}
		case "chat_batch": // each message's own commit time: the wait in the batch counts
			local.ChatBatches++
			for _, f := range doc.Frames {
				if d, ok := since(now, f.At); ok {
					local.Chat = append(local.Chat, d)
				}
			}
		case "flash_drop":
			if d, ok := since(now, doc.At); ok {
				local.Launch = append(local.Launch, d)
			}
		case "snapshot":
			// A viewer that starts following the drop after it sold out gets the final state here.
			if len(doc.Stream) >= 5 && doc.Stream[:5] == "drop." && doc.FlashDrop != nil && !reached &&
				(doc.FlashDrop.State == "sold_out" || exhausted(doc.FlashDrop.Skus)) {
				reached = true
				local.Final++
				local.FinalBySnapshot++
				stopAt = earliest(deadline, time.Now().Add(lingerAfterFinal))
			}
		case "stock":
			if local.addStock(now, &doc) && !reached {
				reached = true
				local.Final++
				stopAt = earliest(deadline, time.Now().Add(lingerAfterFinal))
			}
		}
	}
	mu.Lock()
	defer mu.Unlock()
	out.Final += local.Final
	out.FinalBySnapshot += local.FinalBySnapshot
	out.Stock = append(out.Stock, local.Stock...)
	out.Fanout = append(out.Fanout, local.Fanout...)
	out.Chat = append(out.Chat, local.Chat...)
	out.ChatBatches += local.ChatBatches
	out.Launch = append(out.Launch, local.Launch...)
	out.FramesDrop = append(out.FramesDrop, frames)
	out.FramesShow += frames
	out.Closed = append(out.Closed, local.Closed...)
	out.Arrivals = append(out.Arrivals, local.Arrivals...)
	return outcome
}

// foldArrivals: for each bid and socket, the latency from the driver sending it to the first frame on
// that socket that included it, as {"<ms>": pairs}. Arrivals are per socket, separated by bids = -1.
func foldArrivals(arrivals [][2]float64, sentLog string) (map[string]int, string) {
	hist := map[string]int{}
	if sentLog == "" {
		return hist, ""
	}
	data, err := os.ReadFile(sentLog)
	if err != nil {
		return hist, err.Error()
	}
	var raw map[string]float64
	if err := json.Unmarshal(data, &raw); err != nil {
		return hist, err.Error()
	}
	sent := map[int]float64{}
	for k, v := range raw {
		if seq, err := strconv.Atoi(k); err == nil {
			sent[seq] = v
		}
	}
	low := 0
	for _, a := range arrivals {
		seen := int(a[0])
		if seen < 0 {
			low = 0
			continue
		}
		for seq := low + 1; seq <= seen; seq++ {
			if t, ok := sent[seq]; ok {
				hist[strconv.Itoa(max(0, int((a[1]-t)*1000)))]++
			}
		}
		low = max(low, seen)
	}
	return hist, ""
}

// addStock records a stock frame's latencies; true when it carries the final state (sold out).
func (r *result) addStock(now time.Time, doc *frame) bool {
	if d, ok := since(now, doc.At); ok {
		r.Stock = append(r.Stock, d)
	}
	published := doc.PublishedAt // the projector's publish (raw baseline: the broadcast)
	if published == "" {
		published = doc.At
	}
	if d, ok := since(now, published); ok {
		r.Fanout = append(r.Fanout, d)
	}
	return doc.SoldOut || exhausted(doc.Skus)
}

func earliest(a, b time.Time) time.Time {
	if a.Before(b) {
		return a
	}
	return b
}

func main() {
	if len(os.Args) != 5 || (os.Args[1] != "drop" && os.Args[1] != "show" && os.Args[1] != "centrifugo" && os.Args[1] != "auction") {
		fmt.Fprintln(os.Stderr, "usage: wsclient <drop|show|centrifugo|auction> <url> <count> <timeout-seconds>")
		os.Exit(2)
	}
	mode, url := os.Args[1], os.Args[2]
	count, err1 := strconv.Atoi(os.Args[3])
	timeout, err2 := strconv.ParseFloat(os.Args[4], 64)
	if err1 != nil || err2 != nil {
		fmt.Fprintln(os.Stderr, "count and timeout must be numbers")
		os.Exit(2)
	}
	deadline := time.Now().Add(time.Duration(timeout * float64(time.Second)))
	dialer := websocket.Dialer{HandshakeTimeout: 120 * time.Second, ReadBufferSize: 4096, WriteBufferSize: 1024}
	sources, _ := strconv.Atoi(os.Getenv("WSCLIENT_SOURCES"))
	var dialed sync.Mutex
	next := 0
	if sources > 0 {
		dialer.NetDialContext = func(ctx context.Context, network, addr string) (net.Conn, error) {
			dialed.Lock()
			ip := net.IPv4(127, 0, 0, byte(2+next%sources))
			next++
			dialed.Unlock()
			d := net.Dialer{LocalAddr: &net.TCPAddr{IP: ip}}
			return d.DialContext(ctx, network, addr)
		}
	}
	header := http.Header{"Origin": {"http://127.0.0.1"}}

	var (
		mu        sync.Mutex
		out       = result{Errors: []string{}}
		connected sync.WaitGroup
		done      sync.WaitGroup
	)
	readyOnSnapshot := os.Getenv("WSCLIENT_READY") == "snapshot"
	gate := make(chan struct{}, 50) // connect in waves: a burst of thousands of handshakes would time out
	connected.Add(count)
	done.Add(count)
	for range count {
		go func() {
			defer done.Done()
			var once sync.Once
			ready := func() { once.Do(connected.Done) }
			defer ready()  // a socket that failed or closed before its snapshot does not hold the others up
			defer func() { // end of this socket's arrivals (across its reconnects)
				mu.Lock()
				out.Arrivals = append(out.Arrivals, [2]float64{-1, 0})
				mu.Unlock()
			}()
			for attempt := 0; ; attempt++ {
				gate <- struct{}{}
				conn, _, err := dialer.Dial(url, header)
				for retry := 1; err != nil && retry <= 5 && time.Now().Before(deadline); retry++ {
					// A refused or reset connect (a full accept queue on a busy box): try again, as a page would.
					time.Sleep(time.Duration(retry) * 200 * time.Millisecond)
					conn, _, err = dialer.Dial(url, header)
					mu.Lock()
					out.DialRetries++
					mu.Unlock()
				}
				if err == nil && mode == "centrifugo" {
					err = conn.WriteMessage(websocket.TextMessage,
						[]byte(`{"id":1,"connect":{}}`+"\n"+`{"id":2,"subscribe":{"channel":"bench"}}`))
				}
				<-gate
				mu.Lock()
				if err != nil {
					if len(out.Errors) < 5 {
						out.Errors = append(out.Errors, err.Error())
					}
				} else if attempt == 0 {
					out.Connected++
				} else {
					out.Reconnects++
				}
				mu.Unlock()
				if err != nil {
					return
				}
				if !readyOnSnapshot {
					ready()
				}
				outcome := watch(conn, mode, deadline, &mu, &out, ready)
				conn.Close()
				if outcome != "reconnect" || mode != "auction" || time.Now().After(deadline) {
					return
				}
			}
		}()
	}
	waitUntil(&connected, deadline)
	mu.Lock()
	fmt.Printf("{\"ready\": %d}\n", out.Connected)
	mu.Unlock()
	waitUntil(&done, deadline.Add(time.Second))

	mu.Lock()
	defer mu.Unlock()
	var usage syscall.Rusage
	_ = syscall.Getrusage(syscall.RUSAGE_SELF, &usage)
	out.CPUSeconds = time.Duration(usage.Utime.Nano() + usage.Stime.Nano()).Seconds()
	doc := map[string]any{
		"connected": out.Connected, "final": out.Final, "fanout": nonNil(out.Fanout),
		"errors": out.Errors, "cpu_s": out.CPUSeconds, "dial_retries": out.DialRetries,
	}
	if mode == "auction" {
		hist, problem := foldArrivals(out.Arrivals, os.Getenv("WSCLIENT_SENT_LOG"))
		if problem != "" {
			out.Errors = append(out.Errors, "sent log: "+problem)
		}
		closed := out.Closed
		if closed == nil {
			closed = []int64{}
		}
		doc["raw"], doc["hist"], doc["closed"], doc["frames"] = nonNil(out.Stock), hist, closed, out.FramesShow
		doc["reconnects"], doc["errors"] = out.Reconnects, out.Errors
	} else if mode != "show" {
		doc["latencies"], doc["frames"] = nonNil(out.Stock), out.FramesDrop
	} else {
		doc["stock"], doc["chat"], doc["launch"] = nonNil(out.Stock), nonNil(out.Chat), nonNil(out.Launch)
		doc["frames"], doc["chat_batches"], doc["final_by_snapshot"] = out.FramesShow, out.ChatBatches, out.FinalBySnapshot
	}
	line, _ := json.Marshal(doc)
	fmt.Println(string(line))
	os.Exit(0)
}

func nonNil(values []float64) []float64 {
	if values == nil {
		return []float64{}
	}
	return values
}

// waitUntil waits for wg or the deadline, whichever comes first.
func waitUntil(wg *sync.WaitGroup, deadline time.Time) {
	finished := make(chan struct{})
	go func() {
		wg.Wait()
		close(finished)
	}()
	select {
	case <-finished:
	case <-time.After(time.Until(deadline)):
	}
}
