-- The soak of `bienestar bench --soak SECONDS` (metrics soak_5xx_count, soak_rss_growth_mb): the
-- FHIR CRUD mix of fhir_crud_mix.lua (loaded from this script's folder, unchanged), plus a count
-- of the answers with a 5xx status, printed as `SOAK_JSON {...}` before the mix's own summary.
--
--   wrk -t2 -c32 -d600s --latency -s bench/fhir_soak.lua http://127.0.0.1:PORT -- DATA.lua

local here = debug.getinfo(1, "S").source:sub(2):match("^(.*/)") or "./"
dofile(here .. "fhir_crud_mix.lua")

local mix_setup, mix_done = setup, done
local soak_threads = {}

function setup(thread)
  mix_setup(thread)
  table.insert(soak_threads, thread)
end

-- A global of each thread's state, read by done() through thread:get.
server_errors = 0

function response(status, headers, body)
  if status >= 500 then
    server_errors = server_errors + 1
  end
end

function done(summary, latency, requests)
  local n = 0
  for _, thread in ipairs(soak_threads) do
    n = n + (thread:get("server_errors") or 0)
  end
  io.write(string.format('SOAK_JSON {"server_errors": %d}\n', n))
  mix_done(summary, latency, requests)
end
