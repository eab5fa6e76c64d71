package ses

import (
	"fmt"
	"time"
)

// months are the month names of the embedded languages, for the moment a
// password changed. A language a team adds gets the date in ISO 8601.
var months = map[string][12]string{
	"en": {"January", "February", "March", "April", "May", "June", "July", "August", "September", "October", "November", "December"},
	"es": {"enero", "febrero", "marzo", "abril", "mayo", "junio", "julio", "agosto", "septiembre", "octubre", "noviembre", "diciembre"},
	"de": {"Januar", "Februar", "März", "April", "Mai", "Juni", "Juli", "August", "September", "Oktober", "November", "Dezember"},
	"fr": {"janvier", "février", "mars", "avril", "mai", "juin", "juillet", "août", "septembre", "octobre", "novembre", "décembre"},
}

// dateTime is at, in UTC, as a sentence in lang writes it: "4 March 2025
// at 05:06 UTC", "4. März 2025 um 05:06 Uhr (UTC)", "4 mars 2025 à 5 h 06
// (UTC)", "4 de marzo de 2025 a las 5:06 (UTC)".
func dateTime(lang string, at time.Time) string {
	at = at.UTC()
	clock := at.Format("15:04")
	names, ok := months[lang]
	if !ok {
		return at.Format("2006-01-02 15:04") + " UTC"
	}
	day, month, year := at.Day(), names[at.Month()-1], at.Year()
	switch lang {
	case "es":
		// The hour is a feminine noun counted: "a la 1:05", "a las 2:05"
		// (and "a las 0:30", "a las 13:05").
		article := "las"
		if at.Hour() == 1 {
			article = "la"
		}
		return fmt.Sprintf("%d de %s de %d a %s %d:%02d (UTC)", day, month, year, article, at.Hour(), at.Minute())
	case "de":
		return fmt.Sprintf("%d. %s %d um %s Uhr (UTC)", day, month, year, clock)
	case "fr":
		// French writes "14 h 05", with no-break spaces so that a line
		// never breaks inside the time.
		return fmt.Sprintf("%d %s %d à %d\u00a0h\u00a0%02d (UTC)", day, month, year, at.Hour(), at.Minute())
	}
	return fmt.Sprintf("%d %s %d at %s UTC", day, month, year, clock)
}
