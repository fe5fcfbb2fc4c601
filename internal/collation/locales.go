package collation

import "strings"

// localeInfo maps a MongoDB (ICU) locale ID to x/text and records the
// defaults ICU 57 applies for it.
type localeInfo struct {
	bcp47         string // BCP 47 tag without extensions
	co            string // BCP 47 collation type (-u-co-), if any
	caseFirst     string // ICU default caseFirst when not "off"
	shifted       bool   // ICU default alternate is "shifted"
	backwards     bool   // ICU default backwards is true
	normalization bool   // ICU default normalization is on
	va            string // BCP 47 variant type (-u-va-), if any
}

// supportedLocales lists the locale IDs MongoDB accepts (ICU 57 collation
// locales), from MongoDB's collation locale table.
var supportedLocales = strings.Fields(`
af am ar as az be bg bn bo bs bs_Cyrl ca chr cs cy da de de_AT dsb dz ee el
en en_US en_US_POSIX eo es et fa fa_AF fi fil fo fr fr_CA ga gl gu ha haw he
hi hr hsb hu hy id ig is it ja ka kk kl km kn ko kok ky lb lkt ln lo lt lv mk
ml mn mr ms mt my nb ne nl nn om or pa pl ps pt ro ru se si sk sl smn sq sr
sr_Latn sv sw ta te th to tr ug uk ur vi wae yi yo zh zh_Hant zu`)

var localeSet = func() map[string]bool {
	m := make(map[string]bool, len(supportedLocales))
	for _, l := range supportedLocales {
		m[l] = true
	}
	return m
}()

// localeVariants lists the "@collation=<variant>" keywords accepted per
// locale (MongoDB's variant table for ICU 57).
var localeVariants = map[string][]string{
	"ar":      {"compat"},
	"az":      {"search"},
	"bn":      {"traditional"},
	"bs":      {"search"},
	"ca":      {"search"},
	"cs":      {"search"},
	"da":      {"search"},
	"de":      {"search", "eor", "phonebook"},
	"de_AT":   {"phonebook"},
	"es":      {"search", "traditional"},
	"fi":      {"search", "traditional"},
	"fo":      {"search"},
	"gl":      {"search"},
	"he":      {"search"},
	"hr":      {"search"},
	"hu":      {"search"},
	"is":      {"search"},
	"ja":      {"unihan", "private-kana"},
	"kl":      {"search"},
	"kn":      {"traditional"},
	"ko":      {"search", "searchjl", "unihan"},
	"ln":      {"phonetic"},
	"nb":      {"search"},
	"nn":      {"search"},
	"pl":      {"search"},
	"se":      {"search"},
	"si":      {"dictionary"},
	"sk":      {"search"},
	"sr_Latn": {"search"},
	"sv":      {"search", "standard", "reformed"},
	"tr":      {"search"},
	"vi":      {"traditional"},
	"zh":      {"big5han", "gb2312han", "unihan", "zhuyin", "pinyin", "stroke"},
	"zh_Hant": {"stroke"},
}

// bcp47Collation maps ICU collation keywords to BCP 47 -u-co- types.
var bcp47Collation = map[string]string{
	"phonebook":   "phonebk",
	"traditional": "trad",
	"dictionary":  "dict",
	"gb2312han":   "gb2312",
}

func lookupLocale(id string) (localeInfo, bool) {
	base, variant := id, ""
	if i := strings.IndexByte(id, '@'); i >= 0 {
		base = id[:i]
		kw, ok := strings.CutPrefix(id[i+1:], "collation=")
		if !ok || kw == "" {
			return localeInfo{}, false
		}
		variant = kw
	}
	if !localeSet[base] {
		return localeInfo{}, false
	}
	info := localeInfo{bcp47: strings.ReplaceAll(base, "_", "-")}
	if base == "en_US_POSIX" {
		info.bcp47, info.va = "en-US", "posix"
	}
	if variant != "" {
		found := false
		for _, v := range localeVariants[base] {
			if v == variant {
				found = true
			}
		}
		if !found {
			return localeInfo{}, false
		}
		info.co = variant
		if m, ok := bcp47Collation[variant]; ok {
			info.co = m
		}
		if len(info.co) > 8 { // not expressible as a BCP 47 subtag
			info.co = ""
		}
	}
	switch base {
	case "da", "mt":
		info.caseFirst = "upper"
	case "fr_CA":
		info.backwards = true
	case "th":
		info.shifted = true
		info.normalization = true
	case "vi":
		info.normalization = true
	}
	return info, true
}

// suggestLocale returns the locale ICU would have fallen back to for an
// invalid ID, for the "Did you mean" hint; "" when it would be root.
func suggestLocale(id string) string {
	s := strings.ReplaceAll(id, "-", "_")
	if i := strings.IndexByte(s, '@'); i >= 0 {
		s = s[:i]
	}
	parts := strings.Split(s, "_")
	if len(parts) > 0 {
		parts[0] = strings.ToLower(parts[0])
	}
	for i := 1; i < len(parts); i++ {
		switch len(parts[i]) {
		case 2:
			parts[i] = strings.ToUpper(parts[i])
		case 4:
			parts[i] = strings.ToUpper(parts[i][:1]) + strings.ToLower(parts[i][1:])
		}
	}
	for n := len(parts); n > 0; n-- {
		cand := strings.Join(parts[:n], "_")
		if localeSet[cand] && cand != id {
			return cand
		}
	}
	return ""
}
