// The dominant frequency of a window of mono PCM: a Goertzel scan, coarse
// then fine. The pushers' tones are sines, so the strongest bin between
// 100 and 2000 Hz is the tone once the transcoding (AAC → Opus → AAC) is done.

function goertzelPower(samples, freq, rate) {
  const w = 2 * Math.PI * freq / rate;
  const coeff = 2 * Math.cos(w);
  let s1 = 0;
  let s2 = 0;
  for (let i = 0; i < samples.length; i++) {
    const s0 = samples[i] + coeff * s1 - s2;
    s2 = s1;
    s1 = s0;
  }
  return s1 * s1 + s2 * s2 - coeff * s1 * s2;
}

// dominantFrequency returns {freq, power, rms} for samples (an array of
// numbers at `rate` Hz); freq is 0 for silence.
function dominantFrequency(samples, rate, lo = 100, hi = 2000) {
  let sum = 0;
  for (let i = 0; i < samples.length; i++) sum += samples[i] * samples[i];
  const rms = Math.sqrt(sum / Math.max(1, samples.length));
  if (rms < 50) return { freq: 0, power: 0, rms };
  let best = { freq: 0, power: -1 };
  const scan = (from, to, step) => {
    for (let f = from; f <= to; f += step) {
      const p = goertzelPower(samples, f, rate);
      if (p > best.power) best = { freq: f, power: p };
    }
  };
  scan(lo, hi, 10);
  scan(Math.max(lo, best.freq - 10), Math.min(hi, best.freq + 10), 1);
  return { freq: best.freq, power: best.power, rms };
}

module.exports = { dominantFrequency };
