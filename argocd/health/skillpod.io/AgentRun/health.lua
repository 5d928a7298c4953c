-- Argo CD health check for skillpod.io/AgentRun, from status.phase and status.conditions as the Skillpod operator
-- writes them. Plain Lua 5.1 (Argo CD runs gopher-lua); tested with Debian's lua5.4 on testdata/ (test/unit).
--   Succeeded                      -> Healthy
--   Failed, or an invalid spec     -> Degraded (the Succeeded or Ready condition says why)
--   no status yet, Pending, Running -> Progressing (the Ready condition says what it waits for)
local hs = {}

local function condition(conditionType)
  if obj.status == nil or obj.status.conditions == nil then
    return nil
  end
  for _, c in ipairs(obj.status.conditions) do
    if c.type == conditionType then
      return c
    end
  end
  return nil
end

-- "Reason: message", or the fallback when the condition says nothing.
local function explain(c, fallback)
  if c == nil then
    return fallback
  end
  local text = c.reason or ""
  if c.message ~= nil and c.message ~= "" then
    if text ~= "" then
      text = text .. ": "
    end
    text = text .. c.message
  end
  if text == "" then
    return fallback
  end
  return text
end

local status = obj.status or {}
local phase = status.phase
local ready = condition("Ready")

-- Terminal phases are sticky: a later spec change (switching a skill of a finished run) does not make it pending.
if phase == "Succeeded" then
  hs.status = "Healthy"
  hs.message = explain(condition("Succeeded"), "the agent finished")
  return hs
end
if phase == "Failed" then
  hs.status = "Degraded"
  hs.message = explain(condition("Succeeded"), "the run failed")
  return hs
end

-- The operator cannot run this spec (it would never progress).
if ready ~= nil and ready.status == "False" and ready.reason == "InvalidSpec" then
  hs.status = "Degraded"
  hs.message = explain(ready, "the spec is invalid")
  return hs
end

if phase == nil then
  hs.status = "Progressing"
  hs.message = "waiting for the Skillpod operator"
  return hs
end

local generation = obj.metadata and obj.metadata.generation
if generation ~= nil and (status.observedGeneration == nil or status.observedGeneration < generation) then
  hs.status = "Progressing"
  hs.message = "waiting for the Skillpod operator to observe generation " .. tostring(generation)
  return hs
end

if phase == "Pending" or phase == "Running" then
  hs.status = "Progressing"
  local message = phase
  if status.skillsReady ~= nil then
    message = message .. " (skills ready " .. status.skillsReady .. ")"
  end
  if ready ~= nil and ready.message ~= nil and ready.message ~= "" then
    message = message .. ": " .. ready.message
  end
  hs.message = message
  return hs
end

hs.status = "Unknown"
hs.message = "unknown phase " .. tostring(phase)
return hs
