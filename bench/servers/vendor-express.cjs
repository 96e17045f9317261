// The vendor's Node.js example from its documentation (vendor-docs 002, "Incoming Missed CDR"),
// verbatim but for the port. Its console.log goes to a file: the bench redirects stdout.
const express = require('express'),
  bodyParser = require('body-parser'),
  app = express();
// parse application/json
app.use(bodyParser.json());
app.post('/webhook/cdr', (req, res) => {
  //Received CDR JSON Object from TeleCMI platform
  var cdr = req.body;
  console.log(cdr);
  res.send('got it');
});
app.listen(Number(process.env.PORT ?? 5000));
