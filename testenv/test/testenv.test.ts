import { MongoClient } from 'mongodb';
import { chromiumPath, countProcesses, eventually, freePort, startMongo, startProcess, uniqueDbName, waitForPort } from '../src/index.js';
import { existsSync } from 'node:fs';

test('startMongo gives a real MongoDB-wire server that stores and finds documents, and stops it', async () => {
  const mongo = await startMongo();
  const client = await MongoClient.connect(mongo.dbUri(uniqueDbName()));
  try {
    const col = client.db().collection<{ _id: string; n: number }>('probe');
    await col.insertMany([
      { _id: 'a', n: 1 },
      { _id: 'b', n: 2 },
    ]);
    expect(await col.find({ n: { $gt: 1 } }).toArray()).toEqual([{ _id: 'b', n: 2 }]);
    await expect(col.insertOne({ _id: 'a', n: 3 })).rejects.toMatchObject({ code: 11000 });
  } finally {
    await client.close();
    await mongo.stop();
  }
  if (mongo.process) expect(mongo.process.child.exitCode !== null || mongo.process.child.signalCode !== null).toBe(true);
});

test('chromiumPath names an executable', () => {
  expect(existsSync(chromiumPath())).toBe(true);
});

test('startProcess captures output, stop() ends the whole process group', async () => {
  const marker = `testenv-marker-${Date.now()}`;
  // A sleep of its own (a duration no other process on the machine has: the count is machine-wide; a clean-clone CI
  // trial once met someone's `sleep 300`).
  const sleep = `sleep 300.${process.pid}${Date.now() % 1000}`;
  const p = startProcess({ command: 'bash', args: ['-c', `echo started; ${sleep} & echo ${marker}; wait`] });
  await p.waitForOutput(new RegExp(marker));
  expect(p.output()).toContain('started');
  const own = new RegExp(sleep.replace('.', '\\.'));
  expect(countProcesses(own)).toBeGreaterThanOrEqual(1);
  await p.stop(2_000);
  await eventually(() => countProcesses(own) === 0, 5_000);
});

test('freePort and waitForPort', async () => {
  const port = await freePort();
  await expect(waitForPort(port, '127.0.0.1', 300)).rejects.toThrow(/nothing listens/);
  const p = startProcess({ command: process.execPath, args: ['-e', `require('http').createServer().listen(${port}, '127.0.0.1')`] });
  await waitForPort(port);
  await p.stop();
});
