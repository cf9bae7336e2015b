-- The FHIR CRUD mix for `bienestar bench` (metrics fhir_crud_mix_rps, fhir_crud_mix_p99_ms), run by
-- wrk against `bienestar serve`:
--
--   wrk -t2 -c32 -d60s --latency -s bench/fhir_crud_mix.lua http://127.0.0.1:PORT -- DATA.lua
--
-- DATA.lua is written by src/bienestar/ops/bench/crud.py and returns a table: the bearer token,
-- ids of existing Patients, Encounters and Observations, surnames to search for, and bodies to
-- create and update with (taken from resources the server itself returned). The mix, per 100
-- requests, after the create/read/update/search mix of the public fhir-server-performance-benchmark:
--
--   create  15: Patient 5, Encounter 5, Observation 5        (POST /fhir/{Type})
--   read    45: Patient 15, Encounter 15, Observation 15     (GET /fhir/{Type}/{id})
--   update  10: Patient (PUT, the address line changes)      (PUT /fhir/Patient/{id})
--   search  30: Patient?name, Observation?patient, Encounter?patient (10 each, _count=10)
--
-- wrk is a C program with one event loop per thread: two threads keep 32 connections busy for a
-- few percent of one core, so the server keeps the machine's CPU (crud.py measures wrk's share).

local data
local json_headers
local threads = 0

function setup(thread)
  thread:set("id", threads)
  threads = threads + 1
end

local function pick(list)
  return list[math.random(#list)]
end

function init(args)
  data = dofile(args[1])
  json_headers = {
    ["Authorization"] = "Bearer " .. data.token,
    ["Content-Type"] = "application/fhir+json",
    ["Accept"] = "application/fhir+json",
  }
  -- Each thread draws its own sequence; the same seed every run keeps runs comparable.
  math.randomseed(data.seed + (id or 0))
end

function request()
  local r = math.random(100)
  if r <= 5 then
    return wrk.format("POST", "/fhir/Patient", json_headers, data.patient_body)
  elseif r <= 10 then
    return wrk.format("POST", "/fhir/Encounter", json_headers, data.encounter_body)
  elseif r <= 15 then
    return wrk.format("POST", "/fhir/Observation", json_headers, data.observation_body)
  elseif r <= 30 then
    return wrk.format("GET", "/fhir/Patient/" .. pick(data.patients), json_headers)
  elseif r <= 45 then
    return wrk.format("GET", "/fhir/Encounter/" .. pick(data.encounters), json_headers)
  elseif r <= 60 then
    return wrk.format("GET", "/fhir/Observation/" .. pick(data.observations), json_headers)
  elseif r <= 70 then
    local u = pick(data.updates)
    local body = string.gsub(u.body, "__N__", tostring(math.random(1, 99999)))
    return wrk.format("PUT", "/fhir/Patient/" .. u.id, json_headers, body)
  elseif r <= 80 then
    return wrk.format("GET", "/fhir/Patient?_count=10&name=" .. pick(data.surnames), json_headers)
  elseif r <= 90 then
    return wrk.format("GET", "/fhir/Observation?_count=10&patient=" .. pick(data.patients), json_headers)
  else
    return wrk.format("GET", "/fhir/Encounter?_count=10&patient=" .. pick(data.patients), json_headers)
  end
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
