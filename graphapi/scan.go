package graphapi

import (
	"bytes"
	"encoding/json"
)

// nextLinkOf returns a page's top-level "@odata.nextLink" by stepping over
// every other member without decoding it, so the next page can be fetched
// before this one is decoded. Keys match as encoding/json matches them:
// escaped or not, case-insensitively, the last of duplicates winning. It returns "" when there is no link
// or the page is not a well-formed object (decodePage then says what is
// wrong).
func nextLinkOf(body []byte) string {
	i := skipSpace(body, 0)
	if i >= len(body) || body[i] != '{' {
		return ""
	}
	link := ""
	for i = skipSpace(body, i+1); i < len(body) && body[i] == '"'; {
		keyEnd := skipString(body, i)
		if keyEnd < 0 {
			return ""
		}
		key := body[i:keyEnd]
		i = skipSpace(body, keyEnd)
		if i >= len(body) || body[i] != ':' {
			return ""
		}
		i = skipSpace(body, i+1)
		valueEnd := skipValue(body, i)
		if valueEnd < 0 {
			return ""
		}
		if isNextLinkKey(key) {
			link = ""
			_ = json.Unmarshal(body[i:valueEnd], &link) // not a string: no link, as decodePage will say
		}
		i = skipSpace(body, valueEnd)
		if i < len(body) && body[i] == ',' {
			i = skipSpace(body, i+1)
		}
	}
	return link
}

func isNextLinkKey(quoted []byte) bool {
	const want = "@odata.nextLink"
	key := quoted[1 : len(quoted)-1]
	if bytes.IndexByte(key, '\\') >= 0 {
		var s string
		if json.Unmarshal(quoted, &s) != nil {
			return false
		}
		key = []byte(s)
	}
	return bytes.EqualFold(key, []byte(want))
}

func skipSpace(b []byte, i int) int {
	for i < len(b) && (b[i] == ' ' || b[i] == '\t' || b[i] == '\n' || b[i] == '\r') {
		i++
	}
	return i
}

// skipString returns the index just past the string starting at b[i] ('"'),
// or -1 if it does not end.
func skipString(b []byte, i int) int {
	for i++; i < len(b); i++ {
		switch b[i] {
		case '\\':
			i++
		case '"':
			return i + 1
		}
	}
	return -1
}

// skipValue returns the index just past the value starting at b[i], or -1
// if it does not end. Objects and arrays are skipped by counting brackets
// outside strings; their contents are not checked.
func skipValue(b []byte, i int) int {
	if i >= len(b) {
		return -1
	}
	switch b[i] {
	case '"':
		return skipString(b, i)
	case '{', '[':
		depth := 0
		for ; i < len(b); i++ {
			switch b[i] {
			case '"':
				if i = skipString(b, i); i < 0 {
					return -1
				}
				i--
			case '{', '[':
				depth++
			case '}', ']':
				if depth--; depth == 0 {
					return i + 1
				}
			}
		}
		return -1
	}
	for j := i; j < len(b); j++ { // number, true, false, null
		switch b[j] {
		case ',', '}', ']', ' ', '\t', '\n', '\r':
			return j
		}
	}
	return len(b)
}
