package exposition

import (
	"bufio"
	"bytes"
	"encoding/binary"
	"hash/crc32"
	"io"
)

// Scrape is the body of one scrape: families, then live (the text format of
// other families, encoded at the scrape), as text or as one gzip member.
// Its length is known before it is written, so it can go out with a
// Content-Length rather than in chunks.
type Scrape struct {
	encoder  *Encoder // for its buffers
	families [][]*Piece
	live     []byte
	gzip     bool
	deflated []byte // live, compressed, ending the deflate stream; for gzip
}

// Text returns the scrape as text.
func (e *Encoder) Text(families [][]*Piece, live []byte) *Scrape {
	return &Scrape{encoder: e, families: families, live: live}
}

// Gzip returns the scrape as a single gzip member. The pieces' deflate
// segments go out as they are; only live is compressed, here, and its final
// block ends the stream. The checksum is computed over the text, which is
// far quicker than compressing it.
func (e *Encoder) Gzip(families [][]*Piece, live []byte) *Scrape {
	var buf bytes.Buffer
	fw := e.compressor(&buf)
	fw.Write(live) // writes to a bytes.Buffer cannot fail
	fw.Close()
	e.compressors.Put(fw)
	return &Scrape{encoder: e, families: families, live: live, gzip: true, deflated: buf.Bytes()}
}

// gzipHeader starts a gzip member (RFC 1952): deflate, no name or time,
// unknown OS. The trailer is 8 bytes: CRC-32 and size of the text.
var gzipHeader = [10]byte{0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 255}

const gzipTrailerLen = 8

// Len is the number of bytes WriteTo writes.
func (s *Scrape) Len() int64 {
	n := int64(0)
	s.each(func(seg *segment) { n += int64(len(s.bytes(seg))) })
	if s.gzip {
		return n + int64(len(gzipHeader)+len(s.deflated)+gzipTrailerLen)
	}
	return n + int64(len(s.live))
}

// WriteTo writes the scrape to w, through a buffer: the pieces are many
// and small.
func (s *Scrape) WriteTo(w io.Writer) (int64, error) {
	bw, _ := s.encoder.buffers.Get().(*bufio.Writer)
	if bw == nil {
		bw = bufio.NewWriterSize(w, 64<<10)
	} else {
		bw.Reset(w)
	}
	defer func() { bw.Reset(nil); s.encoder.buffers.Put(bw) }()
	crc, size := uint32(0), uint32(0)
	if s.gzip {
		bw.Write(gzipHeader[:])
	}
	s.each(func(seg *segment) {
		bw.Write(s.bytes(seg)) // a failed write is remembered and returned by Flush
		if s.gzip {
			crc = crc32.Update(crc, crc32.IEEETable, seg.text)
			size += uint32(len(seg.text)) // ISIZE is the size modulo 2^32
		}
	})
	if s.gzip {
		bw.Write(s.deflated)
		var trailer [gzipTrailerLen]byte
		binary.LittleEndian.PutUint32(trailer[:4], crc32.Update(crc, crc32.IEEETable, s.live))
		binary.LittleEndian.PutUint32(trailer[4:], size+uint32(len(s.live)))
		bw.Write(trailer[:])
	} else {
		bw.Write(s.live)
	}
	if err := bw.Flush(); err != nil {
		return 0, err
	}
	return s.Len(), nil
}

// each calls f with every segment in order: each family's header, then its
// pieces' samples.
func (s *Scrape) each(f func(*segment)) {
	for _, family := range s.families {
		f(&family[0].header)
		for _, p := range family {
			f(&p.body)
		}
	}
}

func (s *Scrape) bytes(seg *segment) []byte {
	if s.gzip {
		return seg.deflated
	}
	return seg.text
}
