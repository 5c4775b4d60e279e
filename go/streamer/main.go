// The seed's chat streamer in its own language: GET /chat/stream/{request_id} answers Server-Sent
// Events, a worker goroutine calls an OpenAI-style LLM upstream and sends each chunk into an unbuffered
// channel that the handler reads. -variant old reproduces the bug (an unguarded `streamChan <- event`
// and a handler that returns without cancelling anything); -variant new is the fix (a `select` on
// ctx.Done() in sendEvent, and a handler that calls CancelStream). Standard library only.
//
// Served beside the stream route: /debug/pprof/ (net/http/pprof) and /debug/vars (expvar, with
// memstats and a liveWorkers gauge), so the Go probe can read goroutines and heap.
package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"expvar"
	"flag"
	"fmt"
	"log"
	"net"
	"net/http"
	_ "net/http/pprof"
	"os"
	"os/signal"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"
)

type StreamEventType string

const (
	StreamEventToken StreamEventType = "token"
	StreamEventDone  StreamEventType = "done"
	StreamEventError StreamEventType = "error"
)

type StreamEvent struct {
	Type    StreamEventType
	Payload any
}

var liveWorkers atomic.Int64

func init() {
	expvar.Publish("liveWorkers", expvar.Func(func() any { return liveWorkers.Load() }))
}

// ChatManager keeps the active streams by request id.
type ChatManager struct {
	mu      sync.Mutex
	streams map[string]context.CancelFunc
}

func (m *ChatManager) StartStream(requestID string) (context.Context, bool) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if _, busy := m.streams[requestID]; busy {
		return nil, false
	}
	ctx, cancel := context.WithCancel(context.Background())
	m.streams[requestID] = cancel
	return ctx, true
}

// CancelStream cancels the request's context: the fix's escape hatch.
func (m *ChatManager) CancelStream(requestID string) {
	m.mu.Lock()
	cancel, ok := m.streams[requestID]
	m.mu.Unlock()
	if ok {
		cancel()
	}
}

func (m *ChatManager) finish(requestID string) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if cancel, ok := m.streams[requestID]; ok {
		cancel()
		delete(m.streams, requestID)
	}
}

type ResponseStreamer struct {
	variant string
	llmURL  string
	client  *http.Client
}

// sendEvent is where old and new differ.
func (s *ResponseStreamer) sendEvent(ctx context.Context, streamChan chan<- StreamEvent, event StreamEvent) error {
	if s.variant == "old" {
		// OLD: THIS IS THE BLOCKING POINT. An unguarded send on an unbuffered channel: if the handler
		// has returned, no receiver will ever come, and this goroutine is frozen here forever, holding
		// the prompt, the transcript and the unread upstream response (its connection too).
		streamChan <- event
		return nil
	}
	// NEW: write or abort. If the client is gone, CancelStream closes ctx.Done() and the send is abandoned.
	select {
	case <-ctx.Done():
		return ctx.Err()
	case streamChan <- event:
		return nil
	}
}

// Stream is the worker: it calls the LLM and sends each chunk into streamChan.
func (s *ResponseStreamer) Stream(ctx context.Context, requestID, prompt string, streamChan chan<- StreamEvent, done func()) {
	liveWorkers.Add(1)
	defer liveWorkers.Add(-1)
	defer done()
	transcript := make([]string, 0, 256)
	body, _ := json.Marshal(map[string]any{
		"model":    "mock-llm",
		"stream":   true,
		"messages": []map[string]string{{"role": "user", "content": prompt}},
	})
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, s.llmURL+"/chat/completions", bytes.NewReader(body))
	if err != nil {
		_ = s.sendEvent(ctx, streamChan, StreamEvent{Type: StreamEventError, Payload: err.Error()})
		return
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := s.client.Do(req)
	if err != nil {
		if !errors.Is(err, context.Canceled) {
			_ = s.sendEvent(ctx, streamChan, StreamEvent{Type: StreamEventError, Payload: err.Error()})
		}
		return
	}
	defer resp.Body.Close()
	scanner := bufio.NewScanner(resp.Body)
	for scanner.Scan() {
		line := scanner.Text()
		if !strings.HasPrefix(line, "data: ") {
			continue
		}
		data := strings.TrimPrefix(line, "data: ")
		if data == "[DONE]" {
			break
		}
		var chunk struct {
			Choices []struct {
				Delta struct {
					Content string `json:"content"`
				} `json:"delta"`
			} `json:"choices"`
		}
		if json.Unmarshal([]byte(data), &chunk) != nil || len(chunk.Choices) == 0 {
			continue
		}
		token := chunk.Choices[0].Delta.Content
		transcript = append(transcript, token)
		if err := s.sendEvent(ctx, streamChan, StreamEvent{Type: StreamEventToken, Payload: token}); err != nil {
			return // cancelled: the client is gone, stop generating
		}
	}
	if err := s.sendEvent(ctx, streamChan, StreamEvent{Type: StreamEventDone, Payload: map[string]int{"tokens": len(transcript)}}); err != nil {
		return
	}
	close(streamChan)
}

type app struct {
	manager  *ChatManager
	streamer *ResponseStreamer
	variant  string
}

func (a *app) handleStreamRequest(w http.ResponseWriter, r *http.Request) {
	requestID := strings.TrimPrefix(r.URL.Path, "/chat/stream/")
	if requestID == "" || strings.Contains(requestID, "/") {
		http.NotFound(w, r)
		return
	}
	ctx, ok := a.manager.StartStream(requestID)
	if !ok {
		http.Error(w, "stream already running", http.StatusConflict)
		return
	}
	flusher, _ := w.(http.Flusher)
	w.Header().Set("Content-Type", "text/event-stream")
	w.Header().Set("Cache-Control", "no-cache")
	w.WriteHeader(http.StatusOK)
	if flusher != nil {
		flusher.Flush()
	}
	streamChan := make(chan StreamEvent) // unbuffered, as in the seed
	prompt := "You are a helpful assistant. Answer request " + requestID + " in full detail."
	go a.streamer.Stream(ctx, requestID, prompt, streamChan, func() { a.manager.finish(requestID) })
	for {
		select {
		case <-r.Context().Done():
			// The client is gone (CloseNotify in the seed).
			if a.variant == "new" {
				a.manager.CancelStream(requestID)
			}
			return
		case event, open := <-streamChan:
			if !open {
				return
			}
			payload, _ := json.Marshal(map[string]any{"payload": event.Payload})
			fmt.Fprintf(w, "event: %s\ndata: %s\n\n", event.Type, payload)
			if flusher != nil {
				flusher.Flush()
			}
			if event.Type == StreamEventDone || event.Type == StreamEventError {
				return
			}
		}
	}
}

func main() {
	variant := flag.String("variant", "", "old or new")
	flag.Parse()
	if *variant != "old" && *variant != "new" {
		fmt.Fprintln(os.Stderr, "usage: streamer -variant old|new (PORT, HOST and LLM_URL from the environment)")
		os.Exit(2)
	}
	llmURL := os.Getenv("LLM_URL")
	if llmURL == "" {
		llmURL = os.Getenv("OPENAI_BASE_URL")
	}
	if llmURL == "" {
		fmt.Fprintln(os.Stderr, "error: set LLM_URL (or OPENAI_BASE_URL) to the upstream's base URL")
		os.Exit(2)
	}
	host := os.Getenv("HOST")
	if host == "" {
		host = "127.0.0.1"
	}
	port := os.Getenv("PORT")
	if port == "" {
		port = "0"
	}
	a := &app{
		manager:  &ChatManager{streams: map[string]context.CancelFunc{}},
		streamer: &ResponseStreamer{variant: *variant, llmURL: strings.TrimRight(llmURL, "/"), client: &http.Client{}},
		variant:  *variant,
	}
	http.HandleFunc("/chat/stream/", a.handleStreamRequest)
	listener, err := net.Listen("tcp", net.JoinHostPort(host, port))
	if err != nil {
		fmt.Fprintf(os.Stderr, "error: cannot listen on %s:%s: %v\n", host, port, err)
		os.Exit(1)
	}
	fmt.Printf("listening on http://%s\n", listener.Addr().String())
	server := &http.Server{ReadHeaderTimeout: 10 * time.Second}
	go func() {
		signals := make(chan os.Signal, 1)
		signal.Notify(signals, syscall.SIGTERM, syscall.SIGINT)
		<-signals
		os.Exit(0)
	}()
	log.Fatal(server.Serve(listener))
}
