package qfpaytest

import "unicode/utf8"

const maxNote = 200 // characters, not bytes: String(200)

type noteResponse struct {
	result
	Data noteData `json:"data"`
}

type noteData struct {
	Syssn string `json:"syssn"`
}

// addNote stores a remark on a transaction (POST /trade/v1/add_note).
// QFPay offers it only to merchants without an mchid, and code must be the
// request's own app code. QFPay shows remarks in its portal, not in query
// answers, so the double keeps them for Note.
func (s *Server) addNote(m Merchant, form map[string]string) any {
	switch note := form["note"]; {
	case m.MchID != "":
		return failure("1101", "add_note is for merchants without mchid")
	case form["code"] == "":
		return failure("1101", "missing code")
	case form["code"] != m.AppCode:
		return failure("1101", "code mismatch")
	case form["syssn"] == "":
		return failure("1101", "missing syssn")
	case note == "":
		return failure("1101", "missing note")
	case utf8.RuneCountInString(note) > maxNote:
		return failure("1101", "invalid note")
	}
	e := s.findLocked(m.AppCode, bySyssn, form["syssn"])
	if e == nil {
		return fail("1268")
	}
	e.note = form["note"]
	return noteResponse{result: success(), Data: noteData{Syssn: e.Syssn}}
}

// Note returns the remark add_note stored on appCode's transaction syssn;
// ok is false when there is none.
func (s *Server) Note(appCode, syssn string) (note string, ok bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if e := s.findLocked(appCode, bySyssn, syssn); e != nil {
		return e.note, e.note != ""
	}
	return "", false
}
