package exposition

import (
	"bufio"
	"io"
)

// Text is the body of a scrape in the text format: the families' pieces,
// then other, the text of families encoded at the scrape. Its length is
// known before it is written, so it can go out with a Content-Length.
type Text struct {
	Families [][]*Piece
	Other    []byte
}

// Len is the number of bytes WriteTo writes.
func (t Text) Len() int64 {
	n := int64(len(t.Other))
	for _, family := range t.Families {
		n += int64(len(family[0].header))
		for _, p := range family {
			n += int64(len(p.body))
		}
	}
	return n
}

// WriteTo writes the text to w, through a buffer: the pieces are many and
// small. Each family's header goes out once, before its pieces' samples.
func (t Text) WriteTo(w io.Writer) (int64, error) {
	bw := bufio.NewWriterSize(w, 64<<10)
	for _, family := range t.Families {
		bw.Write(family[0].header) // a failed write is remembered and returned by Flush
		for _, p := range family {
			bw.Write(p.body)
		}
	}
	bw.Write(t.Other)
	if err := bw.Flush(); err != nil {
		return 0, err
	}
	return t.Len(), nil
}
