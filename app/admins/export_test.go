package admins

// DummyHash exposes the unknown-email hash to the parameter check below.
const DummyHash = dummyHash
