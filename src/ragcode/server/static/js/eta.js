// The time an upload's summaries still take, in words. The server estimates `remaining_s`
// from the rate the units were measured to settle at (server/eta.py, whose Korean wording this
// mirrors); null means no rate was measured yet, and an estimate is never made up then.
const WORDS = {
  ko: {
    measuring: "남은 시간 측정 중", none: "남은 요약 없음", underMinute: "남은 시간 1분 미만",
    minutes: (m) => `남은 시간 약 ${m}분`,
    hours: (h, m) => `남은 시간 약 ${h}시간${m ? ` ${m}분` : ""}`,
    days: (d) => `남은 시간 약 ${d}일`,
  },
  en: {
    measuring: "estimating time left", none: "no summaries left", underMinute: "less than a minute left",
    minutes: (m) => `about ${m} min left`,
    hours: (h, m) => `about ${h} h${m ? ` ${m} min` : ""} left`,
    days: (d) => `about ${d} days left`,
  },
};

export function remainingText(seconds, language = "ko") {
  const words = WORDS[language] ?? WORDS.ko;
  if (seconds === null || seconds === undefined || !Number.isFinite(seconds)) return words.measuring;
  if (seconds <= 0) return words.none;
  if (seconds < 60) return words.underMinute;
  const minutes = Math.ceil(seconds / 60);
  if (minutes < 60) return words.minutes(minutes);
  const hours = Math.floor(minutes / 60);
  if (hours >= 48) return words.days(Math.round(minutes / 1440));
  return words.hours(hours, minutes % 60);
}
