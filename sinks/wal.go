package sinks

import (
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"

	"github.com/nats-io/nats.go"
)

// The outbox's write-ahead log: segment files seg-<n>.wal in the state
// directory, each a header then records.
//
//	header: "FUSIONDW" (8 bytes) | version uint32 LE (walVersion)
//	record: body length uint32 LE | CRC-32C of body uint32 LE | body
//	body:   uvarint len | subject | uvarint header count |
//	        (uvarint len | key | uvarint len | value)... | payload (the rest)
//
// A record is appended before its decision is published; a segment is
// deleted once every record in it is acked (or refused for good). A torn
// or corrupt record ends the segment: it and what follows are cut off
// (logged), never fatal. A segment of another version is refused.
const (
	walMagic      = "FUSIONDW"
	walVersion    = 1
	walHeaderLen  = len(walMagic) + 4
	walRecHeadLen = 8
	// walMaxRecord bounds one record's body: the largest NATS max payload
	// plus headers.
	walMaxRecord = 64<<20 + 64<<10
)

var crcTable = crc32.MakeTable(crc32.Castagnoli)

// ErrOutboxVersion: a segment was written by a newer fusiond.
var ErrOutboxVersion = errors.New("outbox segment of an unknown version")

// ErrStateDirBusy: another fusiond holds the state directory.
var ErrStateDirBusy = errors.New("state directory in use by another fusiond")

// encodeRecord appends msg's record to dst.
func encodeRecord(dst []byte, m *nats.Msg) []byte {
	start := len(dst)
	dst = append(dst, make([]byte, walRecHeadLen)...)
	dst = walString(dst, m.Subject)
	keys := make([]string, 0, len(m.Header))
	n := 0
	for k, vs := range m.Header {
		keys = append(keys, k)
		n += len(vs)
	}
	slices.Sort(keys)
	dst = binary.AppendUvarint(dst, uint64(n))
	for _, k := range keys {
		for _, v := range m.Header[k] {
			dst = walString(walString(dst, k), v)
		}
	}
	dst = append(dst, m.Data...)
	body := dst[start+walRecHeadLen:]
	binary.LittleEndian.PutUint32(dst[start:], uint32(len(body)))
	binary.LittleEndian.PutUint32(dst[start+4:], crc32.Checksum(body, crcTable))
	return dst
}

func walString(dst []byte, s string) []byte {
	return append(binary.AppendUvarint(dst, uint64(len(s))), s...)
}

// decodeBody decodes one record body.
func decodeBody(b []byte) (*nats.Msg, error) {
	str := func() (string, error) {
		n, k := binary.Uvarint(b)
		if k <= 0 || n > uint64(len(b)-k) {
			return "", errors.New("bad string length")
		}
		s := string(b[k : k+int(n)])
		b = b[k+int(n):]
		return s, nil
	}
	subj, err := str()
	if err != nil {
		return nil, err
	}
	if subj == "" {
		return nil, errors.New("empty subject")
	}
	n, k := binary.Uvarint(b)
	if k <= 0 || n > uint64(len(b)) {
		return nil, errors.New("bad header count")
	}
	b = b[k:]
	m := &nats.Msg{Subject: subj, Header: make(nats.Header, min(n, 8))}
	for range n {
		key, err := str()
		if err != nil {
			return nil, err
		}
		v, err := str()
		if err != nil {
			return nil, err
		}
		m.Header[key] = append(m.Header[key], v)
	}
	m.Data = slices.Clone(b)
	return m, nil
}

// readSegment decodes a segment's bytes: the messages of its whole
// records, and good, the length of the valid prefix (a torn or corrupt
// record and what follows it is not). It fails only for a segment of
// another version; a short or foreign header is good 0.
func readSegment(b []byte) (msgs []*nats.Msg, good int, err error) {
	if len(b) < walHeaderLen || string(b[:len(walMagic)]) != walMagic {
		return nil, 0, nil
	}
	if v := binary.LittleEndian.Uint32(b[len(walMagic):]); v != walVersion {
		return nil, 0, fmt.Errorf("%w: %d (this fusiond reads %d)", ErrOutboxVersion, v, walVersion)
	}
	good = walHeaderLen
	for len(b)-good >= walRecHeadLen {
		n := int(binary.LittleEndian.Uint32(b[good:]))
		sum := binary.LittleEndian.Uint32(b[good+4:])
		if n > walMaxRecord || n > len(b)-good-walRecHeadLen {
			break
		}
		body := b[good+walRecHeadLen : good+walRecHeadLen+n]
		if crc32.Checksum(body, crcTable) != sum {
			break
		}
		m, err := decodeBody(body)
		if err != nil {
			break
		}
		msgs = append(msgs, m)
		good += walRecHeadLen + n
	}
	return msgs, good, nil
}

// walRecord is a message read back at start, with its segment.
type walRecord struct {
	seg uint64
	msg *nats.Msg
}

// wal is the outbox's log: append, count acks per segment, delete
// segments fully acked, fsync on demand (the sink's syncer).
type wal struct {
	dir      string
	segBytes int64
	log      *slog.Logger
	lock     *os.File

	mu    sync.Mutex
	f     *os.File // active segment; nil until the first append
	seg   uint64   // active segment number
	size  int64    // active segment's size
	live  map[uint64]int
	sizes map[uint64]int64
	total int64 // bytes of every segment on disk
	dirty bool
	buf   []byte
}

func segName(n uint64) string { return fmt.Sprintf("seg-%016d.wal", n) }

// openWAL locks dir (creating it, 0700) and reads back every segment in
// order; torn tails are cut off and logged.
func openWAL(dir string, segBytes int64, log *slog.Logger) (*wal, []walRecord, error) {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, nil, fmt.Errorf("outbox: %w", err)
	}
	lock, err := os.OpenFile(filepath.Join(dir, "lock"), os.O_CREATE|os.O_RDWR, 0o600)
	if err != nil {
		return nil, nil, fmt.Errorf("outbox: %w", err)
	}
	if err := syscall.Flock(int(lock.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); err != nil {
		lock.Close()
		return nil, nil, fmt.Errorf("outbox %s: %w (one daemon per robot and state_dir)", dir, ErrStateDirBusy)
	}
	w := &wal{dir: dir, segBytes: segBytes, log: log, lock: lock, live: map[uint64]int{}, sizes: map[uint64]int64{}}
	ents, err := os.ReadDir(dir)
	if err != nil {
		w.close()
		return nil, nil, fmt.Errorf("outbox: %w", err)
	}
	var segs []uint64
	for _, e := range ents {
		num, ok := strings.CutSuffix(strings.TrimPrefix(e.Name(), "seg-"), ".wal")
		if n, err := strconv.ParseUint(num, 10, 64); ok && err == nil && e.Type().IsRegular() {
			segs = append(segs, n)
		}
	}
	slices.Sort(segs)
	var recs []walRecord
	for _, n := range segs {
		path := filepath.Join(dir, segName(n))
		b, err := os.ReadFile(path)
		if err != nil {
			w.close()
			return nil, nil, fmt.Errorf("outbox: %w", err)
		}
		msgs, good, err := readSegment(b)
		if err != nil {
			w.close()
			return nil, nil, fmt.Errorf("outbox %s: %w", path, err)
		}
		if good < len(b) && len(msgs) > 0 {
			log.Warn("outbox: torn or corrupt record cut off (a crash or power cut while appending)",
				"path", path, "offset", good, "bytes", len(b)-good)
			if err := os.Truncate(path, int64(good)); err != nil {
				w.close()
				return nil, nil, fmt.Errorf("outbox: %w", err)
			}
		}
		w.seg = n
		if len(msgs) == 0 {
			if len(b) > walHeaderLen {
				log.Warn("outbox: unreadable segment removed", "path", path, "bytes", len(b))
			}
			os.Remove(path)
			continue
		}
		for _, m := range msgs {
			recs = append(recs, walRecord{seg: n, msg: m})
		}
		w.live[n] = len(msgs)
		w.sizes[n] = int64(good)
		w.total += int64(good)
	}
	return w, recs, nil
}

// append writes m's record to the active segment (rolling to a new one
// past segBytes) and returns the segment it went to. Not synced: see sync.
func (w *wal) append(m *nats.Msg) (uint64, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.f != nil && w.size >= w.segBytes {
		if err := w.roll(); err != nil {
			return 0, err
		}
	}
	if w.f == nil {
		w.seg++
		f, err := os.OpenFile(filepath.Join(w.dir, segName(w.seg)), os.O_CREATE|os.O_EXCL|os.O_WRONLY|os.O_APPEND, 0o600)
		if err != nil {
			return 0, fmt.Errorf("outbox: %w", err)
		}
		hdr := binary.LittleEndian.AppendUint32([]byte(walMagic), walVersion)
		if _, err := f.Write(hdr); err != nil {
			f.Close()
			return 0, fmt.Errorf("outbox: %w", err)
		}
		// The new file's name must survive a power cut too.
		if d, err := os.Open(w.dir); err == nil {
			d.Sync()
			d.Close()
		}
		w.f, w.size = f, int64(len(hdr))
		w.sizes[w.seg] = w.size
		w.total += w.size
	}
	w.buf = encodeRecord(w.buf[:0], m)
	n, err := w.f.Write(w.buf)
	w.size += int64(n)
	w.sizes[w.seg] += int64(n)
	w.total += int64(n)
	if err != nil {
		// A partial record is cut off at the next start; start a new
		// segment so the next record is not behind it.
		w.roll()
		return 0, fmt.Errorf("outbox: %w", err)
	}
	w.live[w.seg]++
	w.dirty = true
	return w.seg, nil
}

// roll syncs and closes the active segment. w.mu is held.
func (w *wal) roll() error {
	f := w.f
	w.f = nil
	err := f.Sync()
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if w.live[w.seg] == 0 {
		w.remove(w.seg)
	}
	if err != nil {
		return fmt.Errorf("outbox: %w", err)
	}
	return nil
}

// done marks one record of segment seg acked; a segment with none left
// (and not the one appended to) is deleted.
func (w *wal) done(seg uint64) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.live[seg]--; w.live[seg] <= 0 && (seg != w.seg || w.f == nil) {
		w.remove(seg)
	}
}

// remove deletes segment seg. w.mu is held.
func (w *wal) remove(seg uint64) {
	delete(w.live, seg)
	w.total -= w.sizes[seg]
	delete(w.sizes, seg)
	if err := os.Remove(filepath.Join(w.dir, segName(seg))); err != nil && !errors.Is(err, fs.ErrNotExist) {
		w.log.Warn("outbox: segment not removed", "err", err)
	}
}

// bytes is the size of every segment on disk.
func (w *wal) bytes() int64 {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.total
}

// sync fsyncs the active segment if anything was appended since the last
// sync.
func (w *wal) sync() error {
	w.mu.Lock()
	f, dirty := w.f, w.dirty
	w.dirty = false
	w.mu.Unlock()
	if !dirty || f == nil {
		return nil
	}
	if err := f.Sync(); err != nil && !errors.Is(err, os.ErrClosed) {
		return fmt.Errorf("outbox: %w", err)
	}
	return nil
}

// close syncs and closes the active segment, deletes it if every record
// in it is done, and releases the lock.
func (w *wal) close() error {
	w.mu.Lock()
	defer w.mu.Unlock()
	var err error
	if w.f != nil {
		err = w.roll()
	}
	if w.lock != nil {
		w.lock.Close() // releases the flock
		w.lock = nil
	}
	return err
}
