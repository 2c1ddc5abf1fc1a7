#!/usr/bin/env bash
# The days `make test` runs the suite on again, each as ALONGSIDE_TEST_TODAY: a year and a day
# ahead of today in England, the next 29 February, and the next 5 and 6 April (the last day of a
# tax year and the first of the next). ALONGSIDE_TEST_DAYS="YYYY-MM-DD ..." chooses others;
# ALONGSIDE_TEST_DAYS=none runs on no other day.
set -euo pipefail
if [ -n "${ALONGSIDE_TEST_DAYS:-}" ]; then
  [ "$ALONGSIDE_TEST_DAYS" = none ] || echo "$ALONGSIDE_TEST_DAYS"
  exit 0
fi
today=$(TZ=Europe/London date +%F)
year=${today:0:4}
ahead=$(date -d "$today +1 year +1 day" +%F)
leap=""
y=$year
while [ -z "$leap" ]; do
  # `date` refuses 29 February of a year that has none.
  if date -d "$y-02-29" +%F >/dev/null 2>&1 && [[ "$y-02-29" > "$today" ]]; then leap="$y-02-29"; fi
  y=$((y + 1))
done
april=$year
[[ "$year-04-05" > "$today" ]] || april=$((year + 1))
echo "$ahead $leap $april-04-05 $april-04-06"
