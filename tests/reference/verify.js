// The reference's JavaScript verify snippet, verbatim ("签名验证"), and a tiny driver:
// node verify.js <secret> <signature> < body  → prints true or false.
const crypto = require('crypto')

function verify(body, signature, secret) {
  const expected = crypto.createHmac('sha256', secret).update(body).digest('hex')
  return signature === `sha256=${expected}`
}

const chunks = []
process.stdin.on('data', (chunk) => chunks.push(chunk))
process.stdin.on('end', () => {
  const body = Buffer.concat(chunks)
  console.log(String(verify(body, process.argv[3], process.argv[2])))
})
