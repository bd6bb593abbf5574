package daemon

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/pycage/pycage/internal/jail"
)

// Cache keeps prepared jails per spec (jail.Spec.PrepareKey: specs that
// differ only in Args, Env and ExecPath share a key) and runs specs in
// them. Its Run is a runner for runcmd: a prepared jail when one is ready
// (a hit), a cold jail.RunBackground otherwise (a miss); either way the key is
// refilled in the background up to PerSpec jails. At most MaxSpecs keys
// are kept, least recently used first out (their jails are closed).
type Cache struct {
	perSpec, maxSpecs int
	logf              func(format string, a ...any)
	// prepare is jail.Prepare (a test may count calls).
	prepare func(*jail.Spec) (*jail.Prepared, error)
	// Failed Prepares of a key are retried only on a later request for
	// it, and not before retryMin (doubling per consecutive failure, at
	// most retryMax).
	retryMin, retryMax time.Duration

	mu      sync.Mutex
	entries map[string]*entry
	tick    uint64 // LRU clock
	nextID  int
	closed  bool
	wg      sync.WaitGroup // refills and closes
	st      CacheStats
}

// entry is one key's jails.
type entry struct {
	id      int        // for logs: "spec #3"
	spec    *jail.Spec // the template: a copy of its own (Args, Env, ExecPath unset)
	desc    string     // "first run: <its command>", for logs
	ready   []*jail.Prepared
	filling bool
	evicted bool
	used    uint64
	fails   int       // consecutive Prepare failures
	retryAt time.Time // no refill before (after a failure)
}

// CacheStats are a Cache's counts.
type CacheStats struct {
	Hits          int64 // runs in a prepared jail
	Misses        int64 // preparable runs that found none ready (run cold)
	NotPreparable int64 // runs whose spec cannot be prepared (run cold)
	Prepared      int64 // jails prepared
	PrepareFailed int64 // Prepare errors
	Evicted       int64 // keys dropped (LRU)
	Specs         int   // keys now
	Ready         int   // jails ready now
}

func (s CacheStats) String() string {
	return fmt.Sprintf("hits %d, misses %d, not preparable %d; jails prepared %d, prepare failures %d; specs evicted %d; now %d specs, %d jails ready",
		s.Hits, s.Misses, s.NotPreparable, s.Prepared, s.PrepareFailed, s.Evicted, s.Specs, s.Ready)
}

// NewCache returns a cache of perSpec prepared jails for each of at most
// maxSpecs specs. perSpec 0 prepares nothing (every run is cold).
func NewCache(perSpec, maxSpecs int, logf func(format string, a ...any)) (*Cache, error) {
	if perSpec < 0 {
		return nil, fmt.Errorf("prepared jails per spec %d: must be >= 0", perSpec)
	}
	if maxSpecs < 1 {
		return nil, fmt.Errorf("specs %d: must be at least 1", maxSpecs)
	}
	if logf == nil {
		logf = func(string, ...any) {}
	}
	return &Cache{perSpec: perSpec, maxSpecs: maxSpecs, logf: logf, prepare: jail.Prepare,
		retryMin: time.Second, retryMax: time.Minute, entries: map[string]*entry{}}, nil
}

// Run runs spec: in a prepared jail of its key if one is ready, else cold
// (jail.RunBackground: either way the jail's teardown follows the answer;
// Close waits for it). The Result and error are those of jail.Run. key is
// spec.PrepareKey() when the caller has it already (runcmd's FlagCache),
// else "".
func (c *Cache) Run(ctx context.Context, spec *jail.Spec, key string, stdio jail.IO) (*jail.Result, error) {
	ok := key != ""
	if !ok {
		key, ok = spec.PrepareKey()
	}
	c.mu.Lock()
	if !ok || c.perSpec == 0 || c.closed {
		if !ok {
			c.st.NotPreparable++
		} else {
			c.st.Misses++
		}
		c.mu.Unlock()
		return jail.RunBackground(ctx, spec, stdio)
	}
	e := c.entries[key]
	var evict []*jail.Prepared
	if e == nil {
		var tmpl jail.Spec
		if err := json.Unmarshal([]byte(key), &tmpl); err != nil {
			// PrepareKey is the spec's JSON: this is a bug, not a user's
			// mistake. The run itself goes on cold.
			c.st.NotPreparable++
			c.mu.Unlock()
			c.logf("spec of %s: its prepare key does not decode (%v); runs of it are cold", describe(spec), err)
			return jail.RunBackground(ctx, spec, stdio)
		}
		evict = c.evictLocked()
		c.nextID++
		e = &entry{id: c.nextID, spec: &tmpl, desc: "first run: " + describe(spec)}
		c.entries[key] = e
	}
	c.tick++
	e.used = c.tick
	var p *jail.Prepared
	if len(e.ready) > 0 {
		p = e.ready[0] // the oldest
		e.ready = e.ready[1:]
		c.st.Hits++
	} else {
		c.st.Misses++
	}
	if p == nil || len(e.ready) == 0 {
		// The next request would miss: refill now.
		c.refillLocked(e)
	} else {
		// A jail is still ready: refill once this run is over and its
		// client has the answer. Preparing a jail costs several ms of CPU
		// (the cgroups, the namespaces, the mounts), which on a small
		// machine would come out of this run's latency.
		defer AfterAnswer(ctx, func() {
			c.mu.Lock()
			c.refillLocked(e)
			c.mu.Unlock()
		})
	}
	c.mu.Unlock()
	for _, q := range evict {
		q.Close()
	}
	if p != nil {
		res, err := p.Run(ctx, spec.Args, spec.Env, spec.ExecPath, stdio)
		if !errors.Is(err, jail.ErrPreparedGone) {
			return res, err
		}
		// Killed while it waited, before anything of this run was used:
		// the run goes on cold, with the same outcome.
		c.logf("a prepared jail of %s was gone when taken; the run is cold", e.desc)
	}
	return jail.RunBackground(ctx, spec, stdio)
}

// evictLocked drops the least recently used key when the cache is full and
// returns its jails (to be closed without the lock).
func (c *Cache) evictLocked() []*jail.Prepared {
	if len(c.entries) < c.maxSpecs {
		return nil
	}
	var lruKey string
	var lru *entry
	for k, e := range c.entries {
		if lru == nil || e.used < lru.used {
			lruKey, lru = k, e
		}
	}
	delete(c.entries, lruKey)
	lru.evicted = true
	c.st.Evicted++
	out := lru.ready
	lru.ready = nil
	c.logf("spec #%d (%s) evicted (least recently used of %d), %d prepared jails closed", lru.id, lru.desc, c.maxSpecs, len(out))
	return out
}

// refillLocked starts the key's refill unless one runs, it is full, or a
// failure's backoff has not passed.
func (c *Cache) refillLocked(e *entry) {
	if e.filling || e.evicted || c.closed || len(e.ready) >= c.perSpec || time.Now().Before(e.retryAt) {
		return
	}
	e.filling = true
	c.wg.Add(1)
	go c.fill(e)
}

// fill prepares jails for e, one at a time, until it has perSpec of them.
func (c *Cache) fill(e *entry) {
	defer c.wg.Done()
	for {
		c.mu.Lock()
		if e.evicted || c.closed || len(e.ready) >= c.perSpec {
			e.filling = false
			c.mu.Unlock()
			return
		}
		c.mu.Unlock()
		p, err := c.prepare(e.spec)
		c.mu.Lock()
		if err != nil {
			c.st.PrepareFailed++
			e.fails++
			backoff := c.retryMax
			if e.fails < 8 {
				backoff = min(c.retryMin<<(e.fails-1), c.retryMax)
			}
			e.retryAt = time.Now().Add(backoff)
			e.filling = false
			c.mu.Unlock()
			c.logf("spec #%d (%s): prepare a jail: %v (failure %d in a row; the next try comes with a request for it, not before %v)",
				e.id, e.desc, err, e.fails, backoff)
			return
		}
		e.fails = 0
		c.st.Prepared++
		if e.evicted || c.closed {
			c.mu.Unlock()
			p.Close()
			continue
		}
		e.ready = append(e.ready, p)
		c.mu.Unlock()
	}
}

// Stats returns the counts.
func (c *Cache) Stats() CacheStats {
	c.mu.Lock()
	defer c.mu.Unlock()
	st := c.st
	st.Specs = len(c.entries)
	for _, e := range c.entries {
		st.Ready += len(e.ready)
	}
	return st
}

// Specs describes the keys, most recently used first: "#id (command):
// N ready".
func (c *Cache) Specs() []string {
	c.mu.Lock()
	defer c.mu.Unlock()
	es := make([]*entry, 0, len(c.entries))
	for _, e := range c.entries {
		es = append(es, e)
	}
	sort.Slice(es, func(i, j int) bool { return es[i].used > es[j].used })
	out := make([]string, len(es))
	for i, e := range es {
		out[i] = fmt.Sprintf("#%d (%s): %d ready", e.id, e.desc, len(e.ready))
	}
	return out
}

// Close destroys every prepared jail, waits for the refills in progress
// (their jails are closed too) and for the teardown of prepared runs that
// ended (jail.WaitTeardowns: their cgroups are gone then), and makes
// further Runs cold. Runs still going are not waited for.
func (c *Cache) Close() {
	c.mu.Lock()
	c.closed = true
	var all []*jail.Prepared
	for k, e := range c.entries {
		all = append(all, e.ready...)
		e.ready = nil
		e.evicted = true
		delete(c.entries, k)
	}
	c.mu.Unlock()
	for _, p := range all {
		p.Close()
	}
	c.wg.Wait()
	jail.WaitTeardowns()
}

// describe names a spec in logs by its command (at most 60 bytes).
func describe(spec *jail.Spec) string {
	s := strings.Join(spec.Args, " ")
	if len(s) > 60 {
		s = s[:57] + "..."
	}
	return s
}
