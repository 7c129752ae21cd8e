package exposition

import (
	"compress/flate"
	"encoding/binary"
	"hash/crc32"
	"io"
	"sync"
)

// Writer writes scrapes. It keeps compressors for reuse and is safe for
// concurrent use.
type Writer struct {
	compressors sync.Pool // *flate.Writer
}

// WriteText writes families, then live: the text format of other families,
// encoded at the scrape.
func (*Writer) WriteText(w io.Writer, families [][]*Piece, live []byte) error {
	for _, family := range families {
		if _, err := w.Write(family[0].header.text); err != nil {
			return err
		}
		for _, p := range family {
			if _, err := w.Write(p.body.text); err != nil {
				return err
			}
		}
	}
	_, err := w.Write(live)
	return err
}

// gzipHeader starts a gzip member (RFC 1952): deflate, no name or time,
// unknown OS.
var gzipHeader = [10]byte{0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 255}

// WriteGzip writes what WriteText writes as a single gzip member. The
// pieces' deflate segments go out as they are; only live is compressed
// here, and its final block ends the stream. The checksum is computed over
// the text, which is far quicker than compressing it.
func (wr *Writer) WriteGzip(w io.Writer, families [][]*Piece, live []byte) error {
	crc, size := uint32(0), uint32(0)
	write := func(s segment) error {
		crc = crc32.Update(crc, crc32.IEEETable, s.text)
		size += uint32(len(s.text)) // ISIZE is the size modulo 2^32
		_, err := w.Write(s.deflated)
		return err
	}
	if _, err := w.Write(gzipHeader[:]); err != nil {
		return err
	}
	for _, family := range families {
		if err := write(family[0].header); err != nil {
			return err
		}
		for _, p := range family {
			if err := write(p.body); err != nil {
				return err
			}
		}
	}
	fw, _ := wr.compressors.Get().(*flate.Writer)
	if fw == nil {
		fw, _ = flate.NewWriter(w, flate.BestSpeed)
	} else {
		fw.Reset(w)
	}
	defer wr.compressors.Put(fw)
	if _, err := fw.Write(live); err != nil {
		return err
	}
	if err := fw.Close(); err != nil {
		return err
	}
	crc = crc32.Update(crc, crc32.IEEETable, live)
	size += uint32(len(live))
	var trailer [8]byte
	binary.LittleEndian.PutUint32(trailer[:4], crc)
	binary.LittleEndian.PutUint32(trailer[4:], size)
	_, err := w.Write(trailer[:])
	return err
}
