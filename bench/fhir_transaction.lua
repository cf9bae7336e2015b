-- FHIR transaction Bundles for `bienestar bench` (metric fhir_transaction_import_res_per_s), run by
-- wrk against `bienestar serve`:
--
--   wrk -t2 -c8 -d60s --timeout 120s --latency -s bench/fhir_transaction.lua http://127.0.0.1:PORT -- DATA.lua
--
-- DATA.lua is written by src/bienestar/ops/bench/transactions.py and returns a table: the bearer
-- token and `bundle`, a transaction Bundle of ~100 POST entries (10 Patients, each with 3
-- Encounters and 6 Observations, the Encounters and Observations referring to their Patient and
-- Encounter by urn:uuid fullUrls). Every fullUrl carries the marker RQRQRQRQ, replaced here by 8
-- hex digits unique to the request (thread number, request number), so each Bundle sent is a new
-- one; its resources carry no business identifiers, so nothing can match an existing record and
-- every entry is a create.

local data
local headers
local threads = 0
local sent = 0

function setup(thread)
  thread:set("id", threads)
  threads = threads + 1
end

function init(args)
  data = dofile(args[1])
  headers = {
    ["Authorization"] = "Bearer " .. data.token,
    ["Content-Type"] = "application/fhir+json",
    ["Accept"] = "application/fhir+json",
  }
end

function request()
  sent = sent + 1
  local tag = string.format("%02x%06x", (id or 0) % 256, sent % 16777216)
  local body = string.gsub(data.bundle, "RQRQRQRQ", tag)
  return wrk.format("POST", "/fhir/", headers, body)
end

function done(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    'BENCH_JSON {"requests": %d, "duration_us": %d, "status_errors": %d, "connect_errors": %d, '
      .. '"read_errors": %d, "write_errors": %d, "timeouts": %d, "p50_us": %d, "p90_us": %d, '
      .. '"p99_us": %d, "max_us": %d}\n',
    summary.requests, summary.duration, e.status, e.connect, e.read, e.write, e.timeout,
    latency:percentile(50), latency:percentile(90), latency:percentile(99), latency.max
  ))
end
