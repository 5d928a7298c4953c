-- Argo CD health check for skillpod.io/SkillPack, from the Ready condition the Skillpod operator writes.
-- Plain Lua 5.1 (Argo CD runs gopher-lua); tested with Debian's lua5.4 on testdata/ (test/unit).
--   Ready=True                       -> Healthy
--   Ready=False (InvalidSpec, OutsideGrantPolicy, ...) -> Degraded, with the operator's reason and message
--   no status, Unknown, or a status for an older generation -> Progressing
local hs = {}
local status = obj.status or {}

local ready = nil
if status.conditions ~= nil then
  for _, c in ipairs(status.conditions) do
    if c.type == "Ready" then
      ready = c
    end
  end
end

local generation = obj.metadata and obj.metadata.generation
local observed = status.observedGeneration
if ready ~= nil and ready.observedGeneration ~= nil then
  observed = ready.observedGeneration
end

if ready == nil then
  hs.status = "Progressing"
  hs.message = "waiting for the Skillpod operator to check the pack"
  return hs
end
if generation ~= nil and (observed == nil or observed < generation) then
  hs.status = "Progressing"
  hs.message = "waiting for the Skillpod operator to check generation " .. tostring(generation)
  return hs
end

local text = ready.reason or ""
if ready.message ~= nil and ready.message ~= "" then
  if text ~= "" then
    text = text .. ": "
  end
  text = text .. ready.message
end

if ready.status == "True" then
  hs.status = "Healthy"
  hs.message = text
elseif ready.status == "False" then
  hs.status = "Degraded"
  hs.message = text
else
  hs.status = "Progressing"
  hs.message = text
end
return hs
