print('Hello from nsjail!')
